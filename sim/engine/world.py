"""The shared simulation context: clock (simpy), random streams, recorders, network and components.

Ordering of same-time events: simpy keeps a heap keyed by (time, priority, insertion id), so events
due at the same instant run in the order they were scheduled (FIFO). Every component schedules
through ``call_later`` with the same priority, so a run is a deterministic function of the scenario
and the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import BoundClass, EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, EventPriority

from sim.engine.metrics import MetricsRecorder
from sim.engine.random import RandomStreams
from sim.engine.timeline import Cause, StateTimeline


def _nothing(*_: Any) -> None:
    """What a cancelled timer runs."""


def _fire(call: Timer) -> None:
    call.fn(*call.args)


_FIRE = (_fire,)
"""Every timer's ``callbacks``: one shared tuple (simpy only iterates it), which also tells ``Clock.run`` that an
event is a timer."""


class Timer:
    """A scheduled callback, and the handle to cancel it: what simpy's loop needs of an event
    (``callbacks``, ``_ok``), nothing more.

    ``World.call_later`` pushes it on simpy's heap directly; ``Clock.run`` calls ``fn(*args)`` without simpy's
    per-event machinery, and a plain ``simpy.Environment`` still runs it (``callbacks`` is a tuple holding
    ``_fire``). ``cancel()`` swaps the callback for a no-op: the event stays in the heap (so the order of
    every other event is unchanged) and firing costs nothing extra, cancelled or not.
    """

    __slots__ = ("callbacks", "fn", "args")
    _ok = True

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.callbacks: tuple[Callable[[Timer], None], ...] | None = _FIRE
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


_new = object.__new__

DUE = _FIRE
"""A due timer's ``callbacks``: what a hot path that schedules a ``Timer`` inline sets (as ``World.call_later``
does), or sets again to push a fired timer back on the heap for its next run."""


class Clock(simpy.Environment):
    """simpy's Environment with its run loop inlined: the same heap, the same (time, priority, id) keys, the
    same events in the same order, at a lower constant cost per event.

    ``run`` repeats what simpy 4.1's ``run`` and ``step`` do (an ``until`` time is an URGENT event that stops
    the loop; a processed event's callbacks are cleared, then called; a failed event that nobody defused
    crashes the run), except that a ``Timer`` (``callbacks is _FIRE``) is called directly: no ``step`` call,
    no callback loop, no ``_ok`` check, no ``_fire`` frame. ``now`` is a plain attribute instead of simpy's
    property (components read it several times per request); simpy's ``_now`` is an alias of it, so simpy's
    own events (processes, timeouts, conditions) work unchanged. ``tests/unit/test_clock_loop.py`` checks the
    order against a plain ``simpy.Environment`` with processes, timeouts, interrupts and timers mixed.
    """

    now: float = 0.0  # type: ignore[assignment]  # shadows simpy's read-only property with a plain attribute

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        for name, obj in vars(simpy.Environment).items():  # simpy binds only its own class's shortcuts early
            if type(obj) is BoundClass:
                setattr(self, name, getattr(self, name))

    @property
    def _now(self) -> float:  # type: ignore[override]
        return self.now

    @_now.setter
    def _now(self, value: float) -> None:
        self.now = value

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        """As simpy's: push ``event`` at now + ``delay``."""
        heappush(self._queue, (self.now + delay, priority, next(self._eid), event))

    def step(self) -> None:
        """Process the next event (as simpy's ``step``)."""
        try:
            self.now, _, _, event = heappop(self._queue)
        except IndexError:
            raise EmptySchedule from None
        if event.callbacks is _FIRE:
            event.callbacks = None
            event.fn(*event.args)
        else:
            self._process(event)

    def _process(self, event: Event) -> None:
        """Run a popped simpy event's callbacks: simpy 4.1's ``step`` after the pop."""
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            self.schedule(event, EventPriority(-1))
            raise
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc

    def run(self, until: float | Event | None = None) -> Any:
        """Process events until ``until`` (a time or an event) or until none are left, as simpy's ``run``."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        queue = self._queue
        fire = _FIRE
        event: Any = None
        try:
            while queue:
                self.now, _, _, event = heappop(queue)
                if event.callbacks is fire:  # a Timer: ``step``, inline
                    event.callbacks = None
                    event.fn(*event.args)
                else:
                    self._process(event)
        except StopSimulation as exc:
            if event is not None and event.callbacks is None and type(event) is Timer:
                # a timer's callback stopped the run: simpy would keep it, processed, at the heap's head
                event.callbacks = []
                self.schedule(event, EventPriority(-1))
            return exc.args[0]
        if until is not None:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None


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

    def __init__(self, seed: int, duration_s: float, bucket_s: float, warmup_s: float, record_requests: bool = False,
                 clock: simpy.Environment | None = None):
        """``clock``: the event loop, a ``Clock`` unless given (a test passes a plain ``simpy.Environment``
        to check that the Clock runs the same events in the same order)."""
        self.env = clock if clock is not None else Clock()
        self.heap = self.env._queue
        """The loop's event heap of (time, priority, id, event): public for the hot paths that push a ``Timer``
        inline (``call_later`` without its call; see ``DUE``), which use exactly ``call_later``'s key."""
        self.event_ids = self.env._eid
        """The loop's insertion counter, the third part of a heap key (same-time events run in this order)."""
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
        timer = _new(Timer)  # ``Timer.__init__`` and ``env.schedule``, inline (two of these per request at least)
        timer.callbacks = _FIRE
        timer.fn = fn
        timer.args = args
        heappush(self.heap, (self.env.now + delay_s, NORMAL, next(self.event_ids), timer))
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
