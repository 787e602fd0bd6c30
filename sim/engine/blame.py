"""Blame for load: who pushed a component that a load-caused change (overloaded, readiness failing on
memory, an OOM kill, a saturated connection pool) happens to.

Load is a cause like any other. When a component changes state because of load, the change names
(``Cause.parents`` and ``Cause.loads``, see ``sim.engine.timeline``):
- load shifted from peers: the peers of its pool that are down or starting (their own transitions),
  or that a load balancer ejected (the ejection) — ``shifted_from``;
- callers of a shared dependency: the transitions of the components whose queries wait on it (the
  restarting replicas of a restart herd) — ``waiting_callers``;
- the clients that feed it (through their load balancers): a fault raising a client's arrival rate
  (a surge, bots), a client's retries when they amplify its attempts, with the transitions whose
  failures it is retrying (``RetryTrail``), and, when nothing else explains the load, the client's
  own demand as a root — ``client_loads``.

Cost: everything here runs at a (rare) state change, except ``RetryTrail.retried``, which runs once
per retry (on the failure path, never for a first attempt) and is O(1). It lives beside the timeline
because it is a question about the timeline, not about any one component.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from sim.engine.timeline import Load, StateTimeline

RETRY_WINDOW_S = 30.0
"""Window of the attempt amplification a retry load names (attempts per request over the last 30 s)."""
RETRY_EPISODE_GAP_S = 30.0
"""A client's retries with no retry for this long end an episode: the next retry starts a new one (whose
origin is collected afresh)."""
RETRY_NAMED_ABOVE = 1.1
"""Retries are named as a load source when they add more than 10 % to the client's attempts."""
MAX_ORIGIN = 16
"""At most this many transitions are kept as a retry episode's origin (the first ones seen)."""
_MARK_EVERY_S = RETRY_WINDOW_S / 6


class RetryTrail:
    """A client's retries, for blame: how many, the transitions whose failures they retry, and marks of
    (time, requests arrived, retries sent) to measure the amplification over the last ``RETRY_WINDOW_S``.

    The client calls ``retried`` when it schedules a retry (O(1)); ``amplification`` and ``load`` are
    asked at a state change.
    """

    __slots__ = ("retries", "origin", "episode", "_last_s", "_next_mark_s", "_marks")

    def __init__(self) -> None:
        self.retries = 0
        self.origin: dict[int, None] = {}
        """Transitions (in the order first seen) of the impaired components whose failures this episode
        retries: a down replica answering errors, an overloaded one, the load balancer with none left."""
        self.episode = 0
        self._last_s = -math.inf
        self._next_mark_s = -math.inf
        self._marks: deque[tuple[float, int, int]] = deque()

    def retried(self, now_s: float, arrived: int, failed_at: str | None, timeline: StateTimeline) -> None:
        """One retry scheduled at ``now_s`` (``arrived``: requests the client has seen so far) of an attempt
        that failed at component ``failed_at`` (None: it failed before reaching one, or timed out there)."""
        if now_s - self._last_s > RETRY_EPISODE_GAP_S:
            self.episode += 1
            self.origin = {}
            self._marks.clear()
            self._next_mark_s = -math.inf
        self._last_s = now_s
        if now_s >= self._next_mark_s:
            marks = self._marks
            marks.append((now_s, arrived, self.retries))
            while len(marks) > 2 and marks[1][0] <= now_s - RETRY_WINDOW_S:
                marks.popleft()
            self._next_mark_s = now_s + _MARK_EVERY_S
        self.retries += 1
        if failed_at is not None and len(self.origin) < MAX_ORIGIN:
            state = timeline.current.get(failed_at)
            if state is not None and state != "healthy":
                self.origin.setdefault(timeline.last_transition[failed_at])

    def amplification(self, now_s: float, arrived: int) -> tuple[float, float] | None:
        """(attempts per request, window in s) over the last ``RETRY_WINDOW_S`` (or since the episode's first
        mark when it is younger); None when the episode is over or no request arrived in the window."""
        if not self._marks or now_s - self._last_s > RETRY_EPISODE_GAP_S:
            return None
        base = self._marks[0]
        for mark in self._marks:
            if mark[0] <= now_s - RETRY_WINDOW_S:
                base = mark
        requests = arrived - base[1]
        if requests <= 0:
            return None
        return (requests + self.retries - base[2]) / requests, now_s - base[0]

    def load(self, client: str, now_s: float, arrived: int) -> Load | None:
        """The retry load to name, when retries add more than ``RETRY_NAMED_ABOVE`` to the attempts."""
        amp = self.amplification(now_s, arrived)
        if amp is None or amp[0] <= RETRY_NAMED_ABOVE:
            return None
        return Load("retries", client, f"{amp[0]:.2f} attempts per request over the last {amp[1]:.0f} s",
                    tuple(self.origin))


def shifted_from(timeline: StateTimeline, components: dict[str, Any],
                 peers: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """Peers whose load moved here, and the transitions that moved it: a peer down or starting (its
    transition), and a peer a load balancer ejected (the ejection). An overloaded or degraded peer
    still takes its share, so it is not blamed."""
    names: list[str] = []
    parents: list[int] = []
    for name in peers:
        moved = False
        if timeline.current.get(name) in ("down", "starting"):
            parents.append(timeline.last_transition[name])
            moved = True
        peer = components.get(name)
        for tid in getattr(peer, "ejections", {}).values():
            if tid not in parents:
                parents.append(tid)
            moved = True
        if moved:
            names.append(name)
    return names, tuple(parents)


def feeding_clients(components: dict[str, Any], server: str) -> list[Any]:
    """The client populations whose load balancers route to replica ``server`` (bots included)."""
    out = []
    for c in components.values():
        if getattr(c, "kind", None) != "client":
            continue
        if any(any(s.name == server for s in getattr(lb, "servers", ())) for lb in c.balancers):
            out.append(c)
    return out


def client_loads(clients: Iterable[Any], now_s: float, explained: bool = False) -> tuple[Load, ...]:
    """The load sources of these clients: faults raising their rate (a surge's multiplier above 1, a bot
    population a fault created), their retries when they amplify the attempts, and — when none of these
    nor ``explained`` (load shifted from peers, callers in trouble) accounts for it — each client's own
    demand, a root."""
    out: list[Load] = []
    seen: set[tuple[str, str]] = set()
    clients = list(clients)
    for c in clients:
        for fid, m in c.effects.sources("arrival_rate").items():
            if m > 1 and ("fault", fid) not in seen:
                seen.add(("fault", fid))
                out.append(Load("fault", fid, f"arrival rate of {c.name} x{m:g}"))
        fid = getattr(c, "origin_fault", None)
        if fid is not None and c.effects["arrival_rate"] > 0 and ("fault", fid) not in seen:
            seen.add(("fault", fid))
            out.append(Load("fault", fid, f"bot population {c.name}"))
        trail = getattr(c, "retry_trail", None)
        if trail is not None:
            retries = trail.load(c.name, now_s, c.arrived)
            if retries is not None:
                out.append(retries)
    if not out and not explained:
        out = [Load("demand", c.name, "the workload's own demand") for c in clients
               if getattr(c, "origin_fault", None) is None]
    return tuple(out)


def load_text(loads: tuple[Load, ...]) -> str:
    """'; load from fault surge-1 (arrival rate of users x2), retries of users: ...' ('' for none)."""
    return "; load from " + ", ".join(x.text() for x in loads) if loads else ""


def caller_of(on_done: Any) -> Any:
    """The component a dependency's callback answers: the owner of the bound method (a replica, a cache)
    or, for a replica's start-up queries, their replica."""
    owner = getattr(on_done, "__self__", None)
    return getattr(owner, "server", owner)


def waiting_callers(callbacks: Iterable[Any]) -> list[Any]:
    """Distinct callers (first-seen order) behind the callbacks of the queries waiting on a dependency."""
    out: dict[int, Any] = {}
    for cb in callbacks:
        who = caller_of(cb)
        if who is not None and id(who) not in out:
            out[id(who)] = who
    return list(out.values())
