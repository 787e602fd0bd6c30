"""A plain c-server FIFO queue: the validation mode (M/M/c, M/D/c, M/G/c against queueing theory)."""

from __future__ import annotations

from heapq import heappush
from typing import Any

from simpy.events import NORMAL

from sim.components.server import ServerBase
from sim.engine.distributions import Sampler
from sim.engine.request import Attempt
from sim.engine.world import DUE, Timer, World

_new = object.__new__


class PlainServer(ServerBase):
    """``concurrency`` slots, a bounded FIFO waiting queue, service times from a distribution.

    Keeps the time integral of the number in system and of busy slots, so Little's law
    (L = lambda W) and utilisation can be checked from one run.
    """

    def __init__(self, world: World, name: str, pool: str, zone: str, queue_capacity: int, model_load_s: float,
                 concurrency: int, service: Sampler, **wiring: Any):
        """``wiring``: the keyword arguments of ``ServerBase`` (dependency, dependency_calls, policies)."""
        super().__init__(world, name, pool, zone, queue_capacity, model_load_s, **wiring)
        self.concurrency = concurrency
        self.service = service
        self.waiting = self._new_waiting_queue()
        self.running: dict[Attempt, Timer] = {}
        """In service, with the timer of each one's end (a crash cancels them); a dict, not a set, so a crash
        drops them in a reproducible (start) order."""
        self.busy = 0
        self.area_in_system = 0.0
        self.area_busy = 0.0
        self._t_last = 0.0

    def queue_length(self) -> int:
        return len(self.waiting)

    def slot_free(self) -> bool:
        return self.busy + len(self.in_dependency) < self.concurrency

    def _advance(self) -> None:
        now = self.world.env.now
        dt = now - self._t_last
        if dt:
            self.area_in_system += dt * (self.busy + len(self.waiting))
            self.area_busy += dt * self.busy
            self._t_last = now

    def _enqueue(self, att: Attempt) -> None:
        now = self.world.env.now
        busy = self.busy
        waiting = self.waiting
        dt = now - self._t_last
        if dt:  # ``_advance``, inline on the request path
            self.area_in_system += dt * (busy + len(waiting))
            self.area_busy += dt * busy
            self._t_last = now
        if busy < self.concurrency:  # start its service (``_done`` does the same for the next in line)
            self.busy = busy + 1
            att.t_service_start_s = now
            world = self.world
            timer = _new(Timer)  # ``world.call_later(service, self._done, att)``, inline (every request)
            timer.callbacks = DUE
            timer.fn = self._done
            timer.args = (att,)
            heappush(world.heap, (now + self.service() * self.slow_factor, NORMAL, next(world.event_ids), timer))
            self.running[att] = timer
        else:
            waiting.append(att)
            if self.state != "healthy" or len(waiting) >= self._on_hi:
                self._check_load()  # else it would do nothing

    def _done(self, att: Attempt) -> None:
        now = self.world.env.now
        busy = self.busy
        waiting = self.waiting
        dt = now - self._t_last
        if dt:  # ``_advance``, inline on the request path
            self.area_in_system += dt * (busy + len(waiting))
            self.area_busy += dt * busy
            self._t_last = now
        self.busy = busy - 1
        timer = self.running.pop(att)  # there until now: a crash cancels this call before it drops the entry
        if att.t_first_token_s is None:
            att.t_first_token_s = now
        if self.hung or self.error_probability or self.wrong_probability:
            self._served(att)
        else:  # what ``_served`` and ``_reply`` do with no software fault, inline
            self.outstanding -= 1
            if self.load_watchers:
                for watcher in self.load_watchers:
                    watcher(self)
            self.completed += 1
            att.reply(att, "success")
        while waiting and self.busy < self.concurrency:
            nxt = waiting.popleft()
            if nxt.cancelled:
                self._reply(nxt, "cancelled")
                continue
            self.busy += 1  # start its service (as ``_enqueue`` does)
            nxt.t_service_start_s = now
            delay_s = self.service() * self.slow_factor
            if timer is not None:  # the timer that just fired ends this one's service: back on the heap
                timer.callbacks = DUE  # (``call_later`` without a new Timer; the same heap key it would push)
                timer.args = (nxt,)
                world = self.world
                heappush(world.heap, (now + delay_s, NORMAL, next(world.event_ids), timer))
                self.running[nxt] = timer
                timer = None
            else:
                self.running[nxt] = self.world.call_later(delay_s, self._done, nxt)
        if self.state != "healthy" or len(waiting) >= self._on_hi:
            self._check_load()  # else it would do nothing

    def _drop_all(self, outcome: str) -> None:
        self._advance()
        lost = [*self.waiting, *self.running]
        for timer in self.running.values():
            timer.cancel()
        self.waiting.clear()
        self.running.clear()
        self.busy = 0
        for att in lost:
            self._reply(att, outcome)

    def _cancel(self, att: Attempt) -> None:
        """Waiting attempts are dropped when they reach the head; running ones finish (no preemption)."""

    def report(self) -> dict[str, object]:
        """As every server's, plus utilisation and mean number in system (time averages up to now)."""
        out = super().report()
        now = self.world.env.now
        self._advance()
        out["utilisation"] = self.area_busy / (now * self.concurrency) if now else 0.0
        out["mean_in_system"] = self.area_in_system / now if now else 0.0
        return out
