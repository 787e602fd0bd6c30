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


class _Call:
    """A bare scheduled callback: what simpy's loop needs of an event (``callbacks``, ``_ok``), nothing more.

    ``env.schedule`` is simpy's public scheduling call; skipping Timeout's construction and a closure per
    event makes a scheduled callback about twice as cheap, which matters at several events per request.
    """

    __slots__ = ("callbacks", "_ok", "fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.callbacks = [_fire]
        self._ok = True
        self.fn = fn
        self.args = args


def _fire(call: _Call) -> None:
    call.fn(*call.args)


class World:
    """Everything components share; one per run, never global."""

    def __init__(self, seed: int, duration_s: float, bucket_s: float, warmup_s: float, record_requests: bool = False):
        self.env = simpy.Environment()
        self.streams = RandomStreams(seed)
        self.duration_s = duration_s
        self.timeline = StateTimeline()
        self.metrics = MetricsRecorder(duration_s, bucket_s, warmup_s, record_requests)
        self.fault_log: list[dict[str, Any]] = []
        self.active_faults: dict[str, int] = {}
        """Fault id → transition-free marker (a fault is a root; its id is the cause source)."""
        self.zones_down: dict[str, set[str]] = {}
        """Zone → ids of the zone outages holding it down now (what is created or moved there starts held)."""
        self.components: dict[str, Any] = {}
        self.network: Any = None

    @property
    def now(self) -> float:
        return self.env.now

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` after ``delay_s`` simulated seconds (a plain event, no process)."""
        if delay_s < 0:
            raise ValueError(f"negative delay {delay_s}")
        self.env.schedule(_Call(fn, args), NORMAL, delay_s)

    def set_state(self, component: str, state: str, cause: Cause, force: bool = False) -> int | None:
        """Record a component's state change at the current time."""
        return self.timeline.set(self.env.now, component, state, cause, force)
