"""The shared simulation context: clock (simpy), random streams, recorders, network and components.

Ordering of same-time events: simpy keeps a heap keyed by (time, priority, insertion id), so events
due at the same instant run in the order they were scheduled (FIFO). Every component schedules
through ``call_later`` with the same priority, so a run is a deterministic function of the scenario
and the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL

from sim.engine.metrics import MetricsRecorder
from sim.engine.random import RandomStreams
from sim.engine.timeline import Cause, StateTimeline


def _nothing(*_: Any) -> None:
    """What a cancelled timer runs."""


class Timer:
    """A scheduled callback, and the handle to cancel it: what simpy's loop needs of an event
    (``callbacks``, ``_ok``), nothing more.

    ``env.schedule`` is simpy's public scheduling call; skipping Timeout's construction and a closure per
    event makes a scheduled callback about twice as cheap, which matters at several events per request.
    ``cancel()`` swaps the callback for a no-op: the event stays in the heap (so the order of every other
    event is unchanged) and firing costs nothing extra, cancelled or not.
    """

    __slots__ = ("callbacks", "_ok", "fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.callbacks = [_fire]
        self._ok = True
        self.fn = fn
        self.args = args

    def cancel(self) -> None:
        """The callback will not run (a no-op if it already ran)."""
        self.fn = _nothing
        self.args = ()

    @property
    def pending(self) -> bool:
        """Still due: neither fired (simpy clears ``callbacks`` once an event is processed) nor cancelled."""
        return self.callbacks is not None and self.fn is not _nothing


def _fire(call: Timer) -> None:
    call.fn(*call.args)


class TimerGroup:
    """Timers that end together: a component's incarnation (a crash cancels them), a fault's window.

    Replaces "is this callback stale?" checks: whoever owns the group cancels it when the things its
    timers were for stop being true. Fired timers are dropped lazily, so the group stays small.
    """

    __slots__ = ("world", "_timers")

    def __init__(self, world: World):
        self.world = world
        self._timers: list[Timer] = []

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Schedule ``fn(*args)`` after ``delay_s`` as a member of this group."""
        timers = self._timers
        if len(timers) >= 32:
            timers[:] = [t for t in timers if t.pending]
        timer = self.world.call_later(delay_s, fn, *args)
        timers.append(timer)
        return timer

    def cancel_all(self) -> None:
        """Cancel every member still pending; the group can be used again afterwards."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def __len__(self) -> int:
        return sum(1 for t in self._timers if t.pending)


class World:
    """Everything components share; one per run, never global."""

    def __init__(self, seed: int, duration_s: float, bucket_s: float, warmup_s: float, record_requests: bool = False):
        self.env = simpy.Environment()
        self.streams = RandomStreams(seed)
        self.duration_s = duration_s
        self.timeline = StateTimeline()
        self.metrics = MetricsRecorder(duration_s, bucket_s, warmup_s, record_requests)
        self.faults: Any = None
        """The fault ledger (``sim.faults.ledger.FaultLedger``: active faults, fault log, zone outages),
        set by the fault schedule; the bookkeeping itself lives with the faults."""
        self.components: dict[str, Any] = {}
        self.network: Any = None

    @property
    def now(self) -> float:
        return self.env.now

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` after ``delay_s`` simulated seconds (a plain event, no process); returns the
        handle that cancels it."""
        if delay_s < 0:
            raise ValueError(f"negative delay {delay_s}")
        timer = Timer(fn, args)
        self.env.schedule(timer, NORMAL, delay_s)
        return timer

    def use_fault_ledger(self, ledger: Any) -> None:
        """Keep a reference to the run's fault ledger (the faults keep its contents)."""
        self.faults = ledger

    def timers(self) -> TimerGroup:
        """A new group of timers cancelled together (see ``TimerGroup``)."""
        return TimerGroup(self)

    def set_state(self, component: str, state: str, cause: Cause, force: bool = False) -> int | None:
        """Record a component's state change at the current time."""
        return self.timeline.set(self.env.now, component, state, cause, force)
