"""Start-up queries: what a (re)starting replica reads from a shared database before it can serve.

After the model loads (``Lifecycle`` calls the replica's ``_loaded``), a replica with a pool ``startup`` section runs
``db_calls`` sequential queries on its start-up database. One failed query (no connection within the
database's connect timeout, no answer within the replica's ``query_timeout_s``, a full wait queue,
database unavailable or unreachable) fails the whole start-up attempt: the replica stays ``starting``
and, after a backoff computed by the retry policy (``sim/resilience/policies/retry.py``: capped exponential
wait and its jitter), starts over from the first query. After ``retry.max_attempts`` failed attempts
the process exits and the orchestrator restarts it after ``restart_delay_s`` (then the model loads
again); with ``restart_backoff_cap_s`` the delay doubles after each consecutive exit up to the cap
(Kubernetes CrashLoopBackOff: 10 s doubling to 300 s), and resets once a start-up succeeds.

Why it matters (the restart herds replayed in scenarios/incidents/openai-2024-08-16-restart-herd.yaml
and google-2025-06-12-config-push.yaml): when many replicas restart at once, their
start-up queries fill the database's connection pool and wait queue; queries time out, attempts fail
and retry, and work is wasted: the queries of a failed attempt that did succeed, and queries the
replica gave up on (``query_timeout_s``) that the database still runs. Without a randomized,
growing backoff the herd keeps the database saturated, so few attempts ever finish all
their queries (a long tail); jittered exponential backoff thins the herd out and lets it drain.

Cost: one callback per query, only while a replica starts; nothing on the request path.
"""

from __future__ import annotations

from typing import Any

from sim.components.policies import Retry
from sim.engine.timeline import Cause
from sim.spec.topology import StartupSpec


class StartupQueries:
    """The start-up query sequence of one replica, with retries (see the module docstring)."""

    def __init__(self, server: Any, database: Any, spec: StartupSpec, retry: Retry):
        """``retry`` is the policy built from ``spec.retry`` (its backoff paces the start-up attempts)."""
        self.server = server
        self.database = database
        self.spec = spec
        self.retry = retry
        self.attempts = 0
        """Start-up attempts begun (all incarnations)."""
        self.failed_attempts = 0
        self.exits = 0
        """Processes that exited after max_attempts failed attempts."""
        self.exits_in_row = 0
        """Consecutive exits since the last successful start-up (CrashLoopBackOff doubles the delay with it)."""
        self._blamed: int | None = None
        """Key of the last 'start-up failed' record of this incarnation (one record per new cause)."""

    def run(self, incarnation: int) -> None:
        """The model is loaded: begin start-up attempt 1 of this incarnation."""
        self._blamed = None
        self._attempt(incarnation, 1)

    def _attempt(self, incarnation: int, number: int) -> None:
        server = self.server
        if incarnation != server.incarnation or server.state != "starting":
            return
        self.attempts += 1
        self._call(incarnation, number, self.spec.db_calls)

    def _call(self, incarnation: int, number: int, calls_left: int) -> None:
        server = self.server
        world = server.world
        network = world.network
        call = [False]  # set once the query's answer is taken (its reply or the replica's query timeout)
        if network.blocked and not network.reachable(None, None, server.name, self.database.name):
            world.call_later(0.0, self._done, incarnation, number, calls_left, call, False)
            return
        if self.spec.query_timeout_s is not None:
            world.call_later(self.spec.query_timeout_s, self._done, incarnation, number, calls_left, call, False)
        self.database.call(server.zone, self._done, incarnation, number, calls_left, call)

    def _done(self, incarnation: int, number: int, calls_left: int, call: list[bool], ok: bool) -> None:
        if call[0]:
            return
        call[0] = True
        server = self.server
        if incarnation != server.incarnation or server.state != "starting":
            return
        if ok:
            if calls_left > 1:
                self._call(incarnation, number, calls_left - 1)
                return
            detail = f"model loaded; {self.spec.db_calls} start-up queries to {self.database.name} done"
            if number > 1:
                detail += f" (attempt {number})"
            self.exits_in_row = 0
            server.life.ready(Cause("mechanism", server.name, "startup", detail))
            return
        self.failed_attempts += 1
        done = self.spec.db_calls - calls_left
        why = f"start-up query {done + 1}/{self.spec.db_calls} to {self.database.name} failed"
        key, parents = self._blame()
        if number >= self.spec.retry.max_attempts:
            self.exits += 1
            self.exits_in_row += 1
            delay_s = self.restart_delay_s()
            server.crash(Cause("mechanism", server.name, "startup",
                               f"{why} on attempt {number}/{self.spec.retry.max_attempts}: process exits, "
                               f"restart in {delay_s:g} s", parents),
                         delay_s)
            return
        wait_s = self.retry.backoff_s(number)
        if key != self._blamed:
            self._blamed = key
            server.world.set_state(server.name, "starting",
                                   Cause("mechanism", server.name, "startup",
                                         f"{why}; retrying the start-up (next attempt in {wait_s:.1f} s)", parents),
                                   force=True)
        server.world.call_later(wait_s, self._attempt, incarnation, number + 1)

    def restart_delay_s(self) -> float:
        """Delay before the orchestrator restarts an exited process: constant, or doubling up to the cap."""
        spec = self.spec
        if spec.restart_backoff_cap_s is None:
            return spec.restart_delay_s
        return min(spec.restart_backoff_cap_s, spec.restart_delay_s * 2 ** (self.exits_in_row - 1))

    def _blame(self) -> tuple[int, tuple[int, ...]]:
        """What made the query fail: the database's transition when it is impaired (its overload), else
        our own restart. Returns (key, parents); the key changes only when the database's state does."""
        timeline = self.server.world.timeline
        db_state = timeline.current.get(self.database.name)
        if db_state is not None and db_state != "healthy":
            tid = timeline.last_transition.get(self.database.name)
            key = tid if tid is not None else -1
        else:
            tid = timeline.last_transition.get(self.server.name)
            key = -1
        return key, ((tid,) if tid is not None else ())
