"""How faults are scheduled: pick targets with the run's seeded streams, start, stop, and log it.

A fault family is a class registered under its ``kind`` with ``start(ctx)`` and ``stop(ctx)``. It
changes one thing on its targets (a flag, a factor, a crash); the consequences are left to the
simulator's mechanisms. Starting and stopping are written to the fault log, and any state change a
fault causes directly names the fault id as its cause (a root of the cascade graph).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.build.wiring import Stack
from sim.engine.world import World
from sim.observe.timeline import Cause
from sim.resilience.registry import Registry
from sim.spec.inventory import FAULT_TARGET_KINDS, candidates, inventory
from sim.spec.scenario import Scenario


@dataclass
class FaultContext:
    """What a fault acts on: the world, the stack, its spec and its chosen targets."""

    world: World
    stack: Stack
    spec: Any
    targets: list[Any]

    def cause(self, detail: str = "") -> Cause:
        """The cause to record for a transition this fault makes directly."""
        return Cause("fault", self.spec.id, self.spec.kind, detail)


class Fault:
    """Base of a fault family; subclasses override ``start`` and usually ``stop``."""

    def __init__(self, ctx: FaultContext):
        self.ctx = ctx

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Remove the trigger (default: nothing to undo)."""


FAULTS: Registry[Fault] = Registry("fault kind")


def choose_targets(scenario: Scenario, spec: Any, stack: Stack, world: World) -> list[Any]:
    """Resolve a target selector to components, narrowing to count / percent with a seeded stream."""
    kinds = FAULT_TARGET_KINDS.get(spec.kind, ("server",))
    found = candidates(spec.target, inventory(scenario), kinds)
    names = [c.name for c in found]
    n = len(names)
    if spec.target.count is not None:
        n = spec.target.count
    elif spec.target.percent is not None:
        n = max(1, math.ceil(len(names) * spec.target.percent / 100))
    if n < len(names):
        rng = world.streams.get(spec.id, "targets")
        picked = sorted(rng.choice(len(names), size=n, replace=False).tolist())
        names = [names[i] for i in picked]
    return [stack.by_name[name] for name in names]


def schedule_faults(scenario: Scenario, stack: Stack, world: World) -> None:
    """Arrange every fault's start and stop on the world's clock."""
    for spec in scenario.faults:
        targets = choose_targets(scenario, spec, stack, world)
        fault = FAULTS.create(spec.kind, FaultContext(world, stack, spec, targets))
        world.call_later(spec.at_s, _start, world, fault)
        if spec.duration_s is not None:
            world.call_later(spec.at_s + spec.duration_s, _stop, world, fault)


def _log(world: World, fault: Fault, event: str) -> None:
    spec = fault.ctx.spec
    world.fault_log.append(
        {"t_s": world.now, "fault": spec.id, "kind": spec.kind, "event": event,
         "targets": [t.name for t in fault.ctx.targets]}
    )


def _start(world: World, fault: Fault) -> None:
    world.active_faults[fault.ctx.spec.id] = 1
    _log(world, fault, "start")
    fault.start()


def _stop(world: World, fault: Fault) -> None:
    world.active_faults.pop(fault.ctx.spec.id, None)
    _log(world, fault, "end")
    fault.stop()
