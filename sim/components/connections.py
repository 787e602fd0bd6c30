"""New connections to a database: the server-side work of accepting one (authentication, starting a
backend), shared by every connection being set up at once, and callers who give up and retry.

A database accepts a connection with ``setup_s`` of work on ``cpus`` processors shared by all the
setups in progress (processor sharing: with n > cpus setups at once each advances at cpus / n). A
caller gives up after ``connect_timeout_s`` and retries after its backoff; the database still finishes
the setup it started (a backend nobody uses: wasted work), then closes it. So a burst of connection
attempts larger than ``cpus x connect_timeout_s / setup_s`` makes every setup take longer than callers
wait: none completes in time, every caller retries, and the burst sustains itself while traffic flows
(incident 4). Connections once open stay open (the callers' pool) until the database drops them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from sim.engine.distributions import Sampler
from sim.engine.world import Timer, World


class ConnectionSetup:
    """Processor-sharing setup of new connections; ``connect(on_done, *args)`` ends with ``on_done(*args, ok)``:
    ok when the setup finished within the caller's ``connect_timeout_s``.

    Virtual time: every setup in progress has received the same service ``v`` since ``v`` was last read,
    so a setup of work w started at virtual time v0 completes when ``v`` reaches v0 + w; only the next
    completion is scheduled, so each arrival or departure costs O(log n).
    """

    def __init__(self, world: World, work: Sampler, cpus: int, connect_timeout_s: float):
        self.world = world
        self.work = work
        self.cpus = cpus
        self.connect_timeout_s = connect_timeout_s
        self._heap: list[tuple[float, int, list[Any]]] = []
        self._v = 0.0
        self._v_at_s = 0.0
        self._seq = 0
        self._next: Timer | None = None
        self.epoch = 0
        """Bumped when the database drops every connection: setups of an older epoch are void."""
        self.started = 0
        self.completed = 0
        self.wasted = 0
        """Setups finished after their caller had given up (or after the connections were dropped)."""
        self.timeouts = 0

    @property
    def in_progress(self) -> int:
        return len(self._heap)

    def _rate(self) -> float:
        n = len(self._heap)
        return 1.0 if n <= self.cpus else self.cpus / n

    def _advance(self) -> None:
        now = self.world.env.now
        if self._heap:
            self._v += (now - self._v_at_s) * self._rate()
        self._v_at_s = now

    def _reschedule(self) -> None:
        if self._next is not None:
            self._next.cancel()
            self._next = None
        if self._heap:
            delay = max(0.0, (self._heap[0][0] - self._v) / self._rate())
            self._next = self.world.call_later(delay, self._complete_next)

    def connect(self, on_done: Callable[..., None], *args: Any) -> None:
        """Open one connection for a caller who waits at most ``connect_timeout_s`` (retries are the caller's)."""
        self._advance()
        entry = [on_done, args, False, self.epoch]
        self._seq += 1
        heapq.heappush(self._heap, (self._v + self.work(), self._seq, entry))
        self.started += 1
        self._reschedule()
        self.world.call_later(self.connect_timeout_s, self._gave_up, entry)

    def _complete_next(self) -> None:
        self._next = None
        self._advance()
        _, _, entry = heapq.heappop(self._heap)
        self._reschedule()
        if entry[2] or entry[3] != self.epoch:
            self.wasted += 1
            return
        entry[2] = True
        self.completed += 1
        entry[0](*entry[1], True)

    def _gave_up(self, entry: list[Any]) -> None:
        if entry[2]:
            return
        entry[2] = True
        self.timeouts += 1
        entry[0](*entry[1], False)

    def drop_all(self) -> None:
        """The database dropped every connection: setups in progress are void (they finish as wasted work)."""
        self.epoch += 1

    def clear(self) -> None:
        """Another machine takes over (a promoted standby): it has no setups in progress. Their callers give
        up at their own timeout and retry; the void setups are neither completed nor wasted here."""
        self.drop_all()
        self._heap.clear()
        if self._next is not None:
            self._next.cancel()
            self._next = None

    def report(self) -> dict[str, int]:
        return {"started": self.started, "completed": self.completed, "wasted": self.wasted,
                "timeouts": self.timeouts}
