"""A database with a connection pool: at most ``pool_size`` queries at once, a bounded wait for a connection.

With ``connections`` (``sim.components.connections``) the pool's connections are opened on demand and
each costs the database work to accept; they stay open until the database drops them (a restart, a
promotion, a connection surge), after which every caller has to open one again (incident 4).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sim.components.connections import ConnectionSetup
from sim.components.effects import Effects
from sim.components.lifecycle import HeldOutOfService, Holds
from sim.components.policies import Retry
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
                 connect_timeout_s: float, service: Sampler, connections: ConnectionSetup | None = None,
                 connect_retry: Retry | None = None, connect_attempts: int = 1, pool_min: int = 0):
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
        self.connections = connections
        self.connect_retry = connect_retry
        self.connect_attempts = connect_attempts
        self.pool_min = min(pool_min, pool_size)
        self.established = pool_size if connections is None else self.pool_min
        """Open connections (without ``connections``: always the whole pool)."""
        self._epoch = 0
        """Bumped when every connection is dropped: queries running on them fail."""
        self._overloaded = False
        """Whether the timeline may show it overloaded (set by ``_check_load``, the only one to make it so):
        a query ending with nobody waiting checks the load only then."""
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed"))

    def drop_connections(self, cause: Cause | None = None) -> int:
        """Every open connection is dropped (queries on them fail); callers must open new ones. Returns how
        many were open. The port's verb for a connection surge; also what a restart or a promotion does."""
        if self.connections is None:
            return 0
        dropped = self._drop_all()
        if cause is not None:
            state = self.world.timeline.current.get(self.name, "healthy")
            self.world.set_state(self.name, state, cause, force=True)
        if self.available:
            self.reopen_pool()
        return dropped

    def _drop_all(self) -> int:
        """Every open connection dropped (queries on them fail); how many were open."""
        dropped = self.established
        self._epoch += 1
        if self.connections is not None:
            self.connections.drop_all()
        self.established = 0
        self.busy = 0
        return dropped

    def reopen_pool(self) -> None:
        """The callers' pooler opens its ``pool_min`` connections again, all at once (a burst of setups)."""
        if self.connections is None:
            return
        for _ in range(max(0, self.pool_min - self.established)):
            self._open(1, 0.0, None, ())

    def _on_held(self) -> None:
        self.drop_connections()

    def _effect_changed(self, name: str, value: float) -> None:
        self.slow_factor = value

    def promote(self, zone: str, holds: set[str], cause: Cause) -> None:
        """A standby in ``zone`` becomes the primary: held only by ``holds`` (outages of its zone), it
        answers at once when there are none. It starts with no setups in progress (the old primary's stay
        behind, their callers time out and retry) and the callers' pooler opens its pool once, on it."""
        self.zone = zone
        if self.connections is not None:
            self._drop_all()  # the callers' connections were to the old primary
            self.connections.clear()  # another machine: none of the old primary's setups in progress
        self.holds.replace(holds)
        if holds:
            self.world.set_state(self.name, "down", cause, force=True)
            return
        self.available = True
        self.world.set_state(self.name, "healthy", cause, force=True)
        self.reopen_pool()

    def release(self, key: str, cause: Cause) -> bool:
        """As every held component; a database back in service also gets its callers' pool reopened."""
        back = super().release(key, cause)
        if back:
            self.reopen_pool()
        return back

    def call_for(self, user: int, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Run one query for a caller in ``zone`` (``call``); same interface as a cache's: the user does not
        matter to a database. The replicas call this directly: their path is one call per query."""
        rtt, ok = self.world.network.call_s(zone, self.zone, self.available)
        if not ok:
            self._unanswered(rtt, on_done, args)
        elif self.busy < self.established:
            self.queries += 1
            self._start(rtt, on_done, args)
        else:
            self._queue_query(rtt, on_done, args)

    def call(self, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Run one query for a caller in ``zone``: the round trip from its zone is added to the query time."""
        self.call_for(0, zone, on_done, *args)

    def _unanswered(self, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        """The database is down (the caller waits for its connect timeout) or out of reach: the query fails."""
        self.failures += 1
        self.world.call_later(rtt + self.connect_timeout_s if not self.available else rtt, on_done, *args, False)

    def _queue_query(self, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        """A query that found every open connection busy: open one if the pool may grow, else wait for one."""
        self.queries += 1
        if self.connections is not None and self.established < self.pool_size:
            self._open(1, rtt, on_done, args)  # refused while setups fill the rest: "too many connections"
        else:
            self.call_waiting(rtt, on_done, args)

    def call_waiting(self, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        """Wait for a connection to come free (at most ``connect_timeout_s``); fail at once if the queue is full."""
        if len(self.waiting) < self.queue_capacity:
            entry = [rtt, on_done, args, False]
            self.waiting.append(entry)
            self.world.call_later(self.connect_timeout_s, self._wait_expired, entry)
            self._check_load()
        else:
            self.failures += 1
            self.world.call_later(rtt, on_done, *args, False)

    def _open(self, attempt: int, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        """Connect attempt ``attempt`` for a query that found no idle connection."""
        assert self.connections is not None
        if not self.available:
            if on_done is not None:
                self.failures += 1
                self.world.call_later(rtt, on_done, *args, False)
        elif on_done is not None and self.busy < self.established:
            self._start(rtt, on_done, args)  # a connection came free meanwhile
        elif self.established + self.connections.in_progress >= self.pool_size:
            self._connect_failed(attempt, rtt, on_done, args)  # too many connections
        else:
            self.connections.connect(self._connected, attempt, rtt, on_done, args)

    def _connected(self, attempt: int, rtt: float, on_done: Callable[..., None] | None, args: tuple,
                   ok: bool) -> None:
        if not (ok and self.available):
            self._connect_failed(attempt, rtt, on_done, args)
        elif self.established >= self.pool_size:
            if on_done is not None:  # the pool filled meanwhile: wait for a connection like any query
                self.call_waiting(rtt, on_done, args)
        else:
            self.established += 1
            if on_done is None:  # the pooler's own connection: idle, for whoever waits
                self._serve_waiting()
            else:
                self._start(rtt, on_done, args)

    def _connect_failed(self, attempt: int, rtt: float, on_done: Callable[..., None] | None, args: tuple) -> None:
        if attempt >= self.connect_attempts or self.connect_retry is None:
            if on_done is None:
                return
            self.failures += 1
            self.world.call_later(rtt, on_done, *args, False)
            return
        self.world.call_later(self.connect_retry.backoff_s(attempt), self._open, attempt + 1, rtt, on_done, args)

    def _start(self, rtt: float, on_done: Callable[..., None], args: tuple) -> None:
        self.busy += 1
        self.world.call_later(self.service() * self.slow_factor + rtt, self._done, on_done, args, self._epoch)

    def _done(self, on_done: Callable[..., None], args: tuple, epoch: int = 0) -> None:
        if epoch != self._epoch:  # its connection was dropped under it
            self.failures += 1
            on_done(*args, False)
            return
        self.busy -= 1
        if self.waiting or self._overloaded:
            self._serve_waiting()  # else it would do nothing
        on_done(*args, True)

    def _serve_waiting(self) -> None:
        while self.waiting and self.busy < self.established:
            entry = self.waiting.popleft()
            if entry[3]:
                continue
            entry[3] = True
            self._start(entry[0], entry[1], entry[2])
        self._check_load()

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
            self._overloaded = True
        elif state == "overloaded" and q <= self.queue_capacity // 2:
            self.world.set_state(self.name, "healthy",
                                 Cause("mechanism", self.name, "connection_pool", f"wait queue drained to {q}"))
            self._overloaded = False
        elif state != "overloaded":
            self._overloaded = False

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
        out: dict[str, object] = {"kind": self.kind, "queries": self.queries, "failures": self.failures}
        if self.connections is not None:
            out["connections"] = {"open": self.established, **self.connections.report()}
        return out
