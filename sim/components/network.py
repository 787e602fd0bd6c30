"""Network between zones: one-way latency per pair, plus impairments faults may add.

Impairments (set by network faults, keyed by fault id so several can overlap and each can be
removed): added latency and packet loss on zone links, partitions between zones, and blocked pairs
of components that talk directly. Packet loss is what TCP makes of it: per hop, the number of lost
transmissions k is geometric in the loss rate; each costs a retransmission timeout that doubles, so
the hop is delayed by rto_s * (2**k - 1); past ``max_retransmits`` (or at a loss of ``fail_percent``)
the connection fails. The failure draw (``reachable``) and the delay draw (``latency_s``) are
independent, an approximation that keeps each hop one lookup when nothing is impaired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.spec.topology import NetworkSpec


@dataclass(frozen=True)
class Loss:
    """Packet loss on a link: probability, first retransmission timeout, retransmissions, failure threshold."""

    p: float
    rto_s: float
    max_retransmits: int
    fail_p: float

    @property
    def p_fail(self) -> float:
        """Probability that a connection fails: every transmission lost, or loss past the threshold."""
        return 1.0 if self.p >= self.fail_p else self.p ** (self.max_retransmits + 1)


class Network:
    """Latency lookup and link impairments (added latency, loss, partition) between zones."""

    def __init__(self, spec: NetworkSpec, zones: list[str]):
        self.zones = list(zones)
        self._latency: dict[tuple[str, str], float] = {}
        self.one_way_s = self._latency
        """Base one-way latency per directed zone pair (read only): what a hop costs while ``unimpaired``."""
        self.unimpaired = True
        """Nothing impaired (no added latency, loss or partition): a hop between two zones costs its base
        latency and always gets through. Kept by ``_rebuild``, the only place impairments change, so a
        caller may test this one attribute instead of the four impairment tables."""
        for a in zones:
            for b in zones:
                ms = spec.same_zone_latency_ms if a == b else spec.cross_zone_latency_ms
                self._latency[(a, b)] = ms / 1000.0
        for link in spec.links:
            a, b = link.zones
            self._latency[(a, b)] = self._latency[(b, a)] = link.latency_ms / 1000.0
        self.partitioned: set[frozenset[str]] = set()
        """Zone pairs (or a single zone, for an isolated zone) that cannot talk."""
        self.blocked: set[frozenset[str]] = set()
        """Pairs of component names that cannot talk (a partition between two components)."""
        self._extra: dict[tuple[str, str], float] = {}
        self._loss: dict[tuple[str, str], Loss] = {}
        self._impairments: dict[str, tuple[list[tuple[str, str]], float, Loss | None]] = {}
        self._partitions: dict[str, tuple[str, frozenset[str]]] = {}
        self.version = 0
        """Counts the changes of impairments (what a readiness check re-probes every replica after)."""
        self.rng: np.random.Generator | None = None
        """Stream for loss draws; set by the first loss fault (``world.streams.get('network', 'loss')``)."""

    def links(self, zones: list[str]) -> list[tuple[str, str]]:
        """Directed zone pairs a fault on ``[a]`` (every link of a) or ``[a, b]`` (the a-b link) impairs."""
        if len(zones) == 1:
            a = zones[0]
            return sorted({(a, z) for z in self.zones} | {(z, a) for z in self.zones})
        a, b = zones
        return [(a, b), (b, a)]

    def latency_s(self, zone_a: str | None, zone_b: str | None) -> float:
        """One-way latency between two zones (with any added latency and retransmission delay)."""
        if zone_a is None or zone_b is None:
            return 0.0
        base = self._latency[(zone_a, zone_b)]
        if not self._extra and not self._loss:
            return base
        key = (zone_a, zone_b)
        base += self._extra.get(key, 0.0)
        loss = self._loss.get(key)
        if loss is not None and self.rng is not None:
            k = min(int(self.rng.geometric(1.0 - loss.p)) - 1 if loss.p < 1 else loss.max_retransmits,
                    loss.max_retransmits)
            base += loss.rto_s * (2**k - 1)
        return base

    def hop_s(self, zone_a: str | None, zone_b: str | None, name_a: str | None = None,
              name_b: str | None = None) -> float:
        """One hop: -1.0 when it does not get through (``reachable``), else its latency (``latency_s``), with
        the same draws in the same order; one call and one lookup when nothing is impaired."""
        if self.unimpaired:
            return 0.0 if zone_a is None or zone_b is None else self._latency[(zone_a, zone_b)]
        if not self.reachable(zone_a, zone_b, name_a, name_b):
            return -1.0
        return self.latency_s(zone_a, zone_b)

    def call_s(self, zone_a: str | None, zone_b: str | None, answering: bool) -> tuple[float, bool]:
        """A call and its answer between two zones (a database query): (the round trip, twice the one-way
        latency of ``latency_s``; whether the call gets through). Whether it does is drawn only for an
        ``answering`` callee (``reachable``, after the latency's draws, as two separate calls would draw).
        One call and one lookup when nothing is impaired."""
        if self.unimpaired:
            return (0.0 if zone_a is None or zone_b is None else 2 * self._latency[(zone_a, zone_b)]), answering
        rtt = 2 * self.latency_s(zone_a, zone_b)
        return rtt, answering and self.reachable(zone_a, zone_b)

    def lossy(self, zone_a: str | None, zone_b: str | None) -> bool:
        """Whether a hop between these zones loses packets (then each hop draws from the loss stream)."""
        return bool(self._loss) and zone_a is not None and zone_b is not None and (zone_a, zone_b) in self._loss

    def cut(self, name_a: str, name_b: str) -> bool:
        """Whether a partition between these two components stops a direct call between them (cheap when none)."""
        return bool(self.blocked) and frozenset((name_a, name_b)) in self.blocked

    def reachable(self, zone_a: str | None, zone_b: str | None, name_a: str | None = None,
                  name_b: str | None = None) -> bool:
        """Whether a hop gets through: no partition between the zones or the two components, no lost connection."""
        if not self.partitioned and not self.blocked and not self._loss:
            return True
        if self.blocked and name_a is not None and frozenset((name_a, name_b)) in self.blocked:
            return False
        if zone_a is None or zone_b is None:
            return True
        if self.partitioned and frozenset((zone_a, zone_b)) in self.partitioned:
            return False
        if self._loss:
            loss = self._loss.get((zone_a, zone_b))
            if loss is not None and self.rng is not None and self.rng.random() < loss.p_fail:
                return False
        return True

    # --- impairments set by faults ----------------------------------------------------------------
    def use_loss_stream(self, rng: np.random.Generator) -> None:
        """The random stream packet loss draws from (the first loss fault provides it; later ones keep it)."""
        if self.rng is None:
            self.rng = rng

    def impair(self, fault_id: str, zones: list[str], added_s: float = 0.0, loss: Loss | None = None) -> None:
        """Add (or replace) one fault's latency / loss on the links of ``zones``."""
        self._impairments[fault_id] = (self.links(zones), added_s, loss)
        self._rebuild()

    def clear(self, fault_id: str) -> None:
        """Remove everything one fault set (impairment or partition)."""
        self._impairments.pop(fault_id, None)
        self._partitions.pop(fault_id, None)
        self._rebuild()

    def partition(self, fault_id: str, a: str, b: str, components: bool) -> None:
        """Cut two zones, or two components, off from each other."""
        self._partitions[fault_id] = ("components" if components else "zones", frozenset((a, b)))
        self._rebuild()

    def _rebuild(self) -> None:
        self.version += 1
        self._extra = {}
        survive: dict[tuple[str, str], float] = {}
        first: dict[tuple[str, str], Loss] = {}
        for links, added_s, loss in self._impairments.values():
            for key in links:
                if added_s:
                    self._extra[key] = self._extra.get(key, 0.0) + added_s
                if loss is not None:
                    survive[key] = survive.get(key, 1.0) * (1.0 - loss.p)
                    first.setdefault(key, loss)
        self._loss = {k: Loss(1.0 - survive[k], v.rto_s, v.max_retransmits, v.fail_p) for k, v in first.items()}
        self.partitioned = {pair for kind, pair in self._partitions.values() if kind == "zones"}
        self.blocked = {pair for kind, pair in self._partitions.values() if kind == "components"}
        self.unimpaired = not (self.partitioned or self.blocked or self._loss or self._extra)
