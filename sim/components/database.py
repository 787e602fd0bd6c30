"""A database with a connection pool: at most ``pool_size`` queries at once, a bounded wait for a connection."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sim.components.effects import Effects
from sim.components.lifecycle import HeldOutOfService, Holds
from sim.engine.blame import client_loads, feeding_clients, load_text, waiting_callers
from sim.engine.distributions import Sampler
from sim.engine.timeline import Cause, Load
from sim.engine.world import World

MAX_CALLERS_NAMED = 64
"""An overloaded pool names at most this many callers' transitions as parents."""


class Database(HeldOutOfService):
    """Serves queries with a service-time distribution; waits longer than connect_timeout_s fail.

    ``call(zone, on_done, *args)`` ends with ``on_done(*args, ok)``; the round trip from the caller's
    zone is added to the query time. Faults reach it through its port: the ``slow_factor`` effect,
    holds (down while any fault holds it), and ``promote`` (a standby taking over, the failover controller).
    """

    kind = "database"

    def __init__(self, world: World, name: str, zone: str, pool_size: int, queue_capacity: int,
                 connect_timeout_s: float, service: Sampler):
        self.world = world
        self.name = name
        self.zone = zone
        self.pool_size = pool_size
        self.queue_capacity = queue_capacity
        self.connect_timeout_s = connect_timeout_s
        self.service = service
        self.busy = 0
        self.waiting: deque[list[Any]] = deque()
        self.slow_factor = 1.0
        """Cached from the ``slow_factor`` effect."""
        self.effects = Effects(("slow_factor",), self._effect_changed)
        self.available = True
        """False while anything holds it (``holds``)."""
        self.holds = Holds()
        self.queries = 0
        self.failures = 0
        self._on_hi = max(1, int(queue_capacity * 0.9))
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed"))

    def _effect_changed(self, name: str, value: float) -> None:
        self.slow_factor = value

    def promote(self, zone: str, holds: set[str], cause: Cause) -> None:
        """A standby in ``zone`` becomes the primary: held only by ``holds`` (outages of its zone), it
        answers at once when there are none."""
        self.zone = zone
        self.holds.replace(holds)
        if holds:
            self.world.set_state(self.name, "down", cause, force=True)
            return
        self.available = True
        self.world.set_state(self.name, "healthy", cause, force=True)

    def call_for(self, user: int, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Same interface as a cache's: the user does not matter to a database."""
        self.call(zone, on_done, *args)

    def call(self, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Run one query for a caller in ``zone``."""
        rtt = 2 * self.world.network.latency_s(zone, self.zone)
        if not self.available or not self.world.network.reachable(zone, self.zone):
            self.failures += 1
            self.world.call_later(rtt + self.connect_timeout_s if not self.available else rtt, on_done, *args, False)
            return
        self.queries += 1
        if self.busy < self.pool_size:
            self._start(rtt, on_done, args)
        elif len(self.waiting) < self.queue_capacity:
            entry = [rtt, on_done, args, False]
            self.waiting.append(entry)
            self.world.call_later(self.connect_timeout_s, self._wait_expired, entry)
            self._check_load()
        else:
            self.failures += 1
            self.world.call_later(rtt, on_done, *args, False)

    def _start(self, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        self.busy += 1
        self.world.call_later(self.service() * self.slow_factor + rtt, self._done, on_done, args)

    def _done(self, on_done: Callable[..., None], args: tuple) -> None:
        self.busy -= 1
        while self.waiting and self.busy < self.pool_size:
            entry = self.waiting.popleft()
            if entry[3]:
                continue
            entry[3] = True
            self._start(entry[0], entry[1], entry[2])
        self._check_load()
        on_done(*args, True)

    def _wait_expired(self, entry: list[Any]) -> None:
        if entry[3]:
            return
        entry[3] = True
        self.failures += 1
        # Every wait has the same connect_timeout_s, so an expiring entry is the oldest: remove() finds it first.
        try:
            self.waiting.remove(entry)
        except ValueError:
            pass
        entry[1](*entry[2], False)

    def _check_load(self) -> None:
        q = len(self.waiting)
        state = self.world.timeline.current.get(self.name)
        if state == "healthy" and q >= self._on_hi:
            detail, parents, loads = self._load_cause(f"{q} queries waiting")
            self.world.set_state(self.name, "overloaded",
                                 Cause("mechanism", self.name, "connection_pool", detail, parents, loads))
        elif state == "overloaded" and q <= self.queue_capacity // 2:
            self.world.set_state(self.name, "healthy",
                                 Cause("mechanism", self.name, "connection_pool", f"wait queue drained to {q}"))

    def _load_cause(self, what: str) -> tuple[str, tuple[int, ...], tuple[Load, ...]]:
        """Who fills the pool (asked at the change only): the callers whose queries wait — their latest
        transitions (restarting replicas' start-up queries) — and, for callers serving requests, the load
        sources of the clients that feed them (``sim.engine.blame``)."""
        world = self.world
        timeline = world.timeline
        callers = waiting_callers(entry[1] for entry in self.waiting if not entry[3])
        parents = tuple(timeline.last_transition[c.name] for c in callers
                        if c.name in timeline.last_transition)[:MAX_CALLERS_NAMED]
        impaired = [c.name for c in callers if timeline.current.get(c.name) not in (None, "healthy")]
        serving = [c.name for c in callers if timeline.current.get(c.name) in ("healthy", "overloaded", "degraded")]
        clients: dict[str, Any] = {}
        for name in serving:
            for c in feeding_clients(world.components, name):
                clients.setdefault(c.name, c)
        loads = client_loads(clients.values(), world.env.now, bool(impaired)) if serving else ()
        detail = what
        if callers:
            shown = ", ".join(c.name for c in callers[:5])
            if len(callers) > 5:
                shown += f" and {len(callers) - 5} more"
            detail += f" from {len(callers)} caller(s): {shown}"
            states = sorted({timeline.current.get(n, "") for n in impaired})
            if impaired:
                detail += f" ({len(impaired)} of them {'/'.join(states)})"
        return detail + load_text(loads), parents, loads

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind, "queries": self.queries, "failures": self.failures}
