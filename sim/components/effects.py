"""What faults, bad builds and new versions do to a component: named effects, each declared once with
the rule that combines overlapping sources.

A source (a fault id, ``rollout:<pool>``, a bad deploy's id) sets its own value of an effect and
clears it at its end; the component reads the combined value. So two faults of one kind on one
target compose, and the end of one removes exactly its own share: B ending inside A leaves A's
effect in place. Each source's value carries the transition that brought it (its parent), so a
mechanism acting on the effect later (an OOM kill, a poison crash) can name the cause.

Rules (``RULES``):
- ``multiply``: factors multiply (two 2x slowdowns make 4x); neutral 1.
- ``add_cap``: shares of requests add and are capped at 1 (10 % + 20 % errors make 30 %). Chosen
  over 1 - prod(1 - p) because the sources are read as hitting different requests (different bugs
  in different code paths), which is also what a rollout's error share on top of a fault's means;
  the two agree to first order for small shares, and the cap keeps a share a share.
- ``add``: rates add (two leaks leak at the sum of their rates); neutral 0.
- ``minimum``: the tightest limit wins (two KV-cache faults leave the smaller usable fraction).
- ``count``: how many sources hold it (a hang lasts until the last hang lets go); neutral 0.

The combined value is recomputed only when a source is set or cleared; the component caches what
its hot path reads (``on_change``), so reading an effect costs what reading an attribute costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    """One named effect: how its sources combine, and the value that changes nothing."""

    name: str
    rule: str
    neutral: float
    description: str


def _multiply(values: Iterable[float]) -> float:
    total = 1.0
    for v in values:
        total *= v
    return total


def _add_cap(values: Iterable[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return min(1.0, max(0.0, total))


def _add(values: Iterable[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def _minimum(values: Iterable[float]) -> float:
    return min(values, default=math.inf)


def _count(values: Iterable[float]) -> float:
    return float(sum(1 for v in values if v))


RULES: dict[str, Callable[[Iterable[float]], float]] = {
    "multiply": _multiply, "add_cap": _add_cap, "add": _add, "minimum": _minimum, "count": _count}
"""How the values of overlapping sources combine, by rule name."""

EFFECTS: dict[str, Effect] = {e.name: e for e in (
    Effect("slow_factor", "multiply", 1.0, "Service / iteration / query time multiplier."),
    Effect("error_share", "add_cap", 0.0, "Share of served requests answered with a server error."),
    Effect("wrong_share", "add_cap", 0.0, "Share of served answers that are silently wrong."),
    Effect("hang", "count", 0.0, "Sources holding the process hung (it computes, answers nothing)."),
    Effect("kv_fraction", "minimum", 1.0, "Share of the KV cache that stays usable."),
    Effect("leak_mb_per_s", "add", 0.0, "Memory leaked per second while serving."),
    Effect("leak_mb_per_request", "add", 0.0, "Memory leaked per request accepted."),
    Effect("poison_restart_s", "minimum", math.inf,
           "Vulnerable to poison requests: a poison request crashes it, restarting after this delay."),
    Effect("crash_loop_restart_s", "minimum", math.inf,
           "Crashes at the end of every start-up (bad build or config), restarting after this delay."),
    Effect("arrival_rate", "multiply", 1.0, "Client arrival-rate multiplier (surges; 0 stops a population)."),
    Effect("poison_share", "add_cap", 0.0, "Share of a client's new requests that are poison."),
    Effect("added_ops_s", "add", 0.0, "Control-plane operations per second added (fleet-wide change)."),
    Effect("added_ops_per_node_s", "add", 0.0, "Control-plane operations per second added per node."),
    Effect("added_ops_per_node_sq_s", "add", 0.0,
           "Control-plane operations per second added per node and per node of the cluster (cost growing with size)."),
    Effect("load_multiplier", "multiply", 1.0, "Control-plane load multiplier."),
    Effect("lookup_delay_s", "add", 0.0,
           "Seconds a DNS lookup waits before it is answered (its cache cut off: the timeout, then the fallback)."),
    Effect("added_capacity_ops_s", "add", 0.0, "Control-plane capacity added (operators adding API servers)."),
    Effect("capacity_multiplier", "multiply", 1.0, "Control-plane capacity multiplier (API servers lost or added)."),
    Effect("admit_rps", "minimum", math.inf,
           "Requests per second a load balancer admits (token bucket, one second of burst); excess: rate_limited."),
    Effect("admit_share", "minimum", 1.0, "Share of requests a load balancer admits; the rest: rate_limited."),
    Effect("cross_zone_reroute", "count", 0.0,
           "Sources letting a zone-aware load balancer send traffic to other zones when its own has no replica "
           "(operators rerouting), whatever its failover setting."),
)}
"""Every effect, declared once. A component declares which of these it has (``Effects(names)``)."""


class Effects:
    """One component's effects: per effect, each source's value and parent, and the combined value.

    ``on_change(name, value)`` is called after every set or clear, even when the combined value is the
    same (a component may re-plan on it, as it did when faults wrote its attributes directly).
    """

    __slots__ = ("_declared", "_sources", "_values", "_on_change")

    def __init__(self, names: Iterable[str], on_change: Callable[[str, float], None] | None = None):
        self._declared = {n: EFFECTS[n] for n in names}
        self._sources: dict[str, dict[str, tuple[float, int | None]]] = {n: {} for n in self._declared}
        self._values: dict[str, float] = {n: e.neutral for n, e in self._declared.items()}
        self._on_change = on_change

    def has(self, name: str) -> bool:
        """Whether the component has this effect."""
        return name in self._declared

    def names(self) -> list[str]:
        return list(self._declared)

    def set(self, source: str, name: str, value: float, parent: int | None = None) -> None:
        """Source ``source`` now contributes ``value`` to effect ``name`` (replacing its earlier value)."""
        if name not in self._declared:
            raise KeyError(f"{name!r} is not an effect of this component (it has {', '.join(self._declared)})")
        sources = self._sources[name]
        sources.pop(source, None)  # a re-set source counts as the latest (its parent is the one to blame)
        sources[source] = (value, parent)
        self._update(name)

    def clear(self, source: str, name: str | None = None) -> None:
        """Remove ``source``'s contribution to ``name``, or to every effect when ``name`` is None."""
        for n in ([name] if name is not None else list(self._declared)):
            if self._sources[n].pop(source, None) is not None:
                self._update(n)

    def _update(self, name: str) -> None:
        sources = self._sources[name]
        effect = self._declared[name]
        value = RULES[effect.rule](v for v, _ in sources.values()) if sources else effect.neutral
        self._values[name] = value
        if self._on_change is not None:
            self._on_change(name, value)

    def value(self, name: str) -> float:
        """The combined value of one effect (its neutral value when no source sets it)."""
        return self._values[name]

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def sources(self, name: str) -> dict[str, float]:
        """Each active source's own value of one effect."""
        return {s: v for s, (v, _) in self._sources[name].items()}

    def parent(self, name: str) -> int | None:
        """The transition to blame for an effect: for ``minimum``, the source giving the minimum; for the
        others, the latest source set."""
        sources = self._sources[name]
        if not sources:
            return None
        if self._declared[name].rule == "minimum":
            return min(sources.values(), key=lambda vp: vp[0])[1]
        return next(reversed(sources.values()))[1]

    def active(self) -> dict[str, dict[str, float]]:
        """Every effect with at least one source: {effect: {source: value}}."""
        return {n: self.sources(n) for n, s in self._sources.items() if s}

    def neutral(self) -> bool:
        """No source sets anything."""
        return not any(self._sources.values())
