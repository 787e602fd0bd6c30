"""How faults are scheduled: pick targets with the run's seeded streams, start, stop, and log it.

A fault family is a class registered under its ``kind`` with ``start()`` and ``stop()``. It changes
one thing on its targets (a flag, a factor, a crash); the consequences are left to the simulator's
mechanisms. Starting and stopping are written to the fault log, and any state change a fault causes
directly names the fault id as its cause (a root of the cascade graph).

Schedules: one window (``at_s``, ``duration_s``), a recurring window, or stochastic failures per
target (time to failure exponential or Weibull, then a time to repair). An *instant* fault (a crash
with automatic restart, a cache flush, a failover...) is over as soon as it happened: its end is
logged at once and recovery is left to mechanisms (restart, promotion, refill). Kinds with an
intensity (``ramped``) implement ``apply(level)`` and are ramped up in ``RAMP_STEPS`` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from sim.components.factors import neutral, replace_share
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.resilience.registry import Registry
from sim.spec.inventory import fault_candidates, fault_inventory
from sim.spec.scenario import Scenario

RAMP_STEPS = 10
"""A ramp is applied as this many equal steps (level 1/N at the start, 1 at ramp_s (N-1)/N)."""


class Stack(Protocol):
    """What faults need of the wired stack (``sim.assembly.wiring.Stack`` is one): its components.

    A Protocol rather than an import, so faults sit below the assembly that builds the stack.
    """

    clients: list[Any]
    by_name: dict[str, Any]


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

    def mark(self, component: str, detail: str, state: str | None = None) -> int | None:
        """Record the fault's direct effect on a component (its state is kept unless ``state`` is given).

        Returns the transition id, so mechanisms acting later (an OOM kill, a poison crash) can name
        this transition as their parent.
        """
        current = self.world.timeline.current.get(component, "healthy")
        return self.world.set_state(component, state or current, self.cause(detail), force=True)


class Fault:
    """Base of a fault family; subclasses override ``start`` and usually ``stop`` (or ``apply``)."""

    ramped = False
    """True for kinds with an intensity: they implement ``apply(level)``, level in [0, 1]."""

    def __init__(self, ctx: FaultContext):
        self.ctx = ctx
        self.occurrence = 0

    @property
    def instant(self) -> bool:
        """Over as soon as it happened: its end is logged at once; recovery is a mechanism's job."""
        return False

    def start(self) -> None:
        if not self.ramped:
            raise NotImplementedError
        self.apply(1.0)

    def stop(self) -> None:
        """Remove the trigger (default: nothing to undo, or level 0 for ramped kinds)."""
        if self.ramped:
            self.apply(0.0)

    def apply(self, level: float) -> None:
        """Set the effect's intensity (ramped kinds only)."""
        raise NotImplementedError


class FactorFault(Fault):
    """A fault that scales or adds to one numeric attribute of each target, and can ramp.

    Slow factors are multiplied by 1 + (full - 1) x level; probabilities get full x level added
    (``sim.components.factors``). Several faults (and bad builds, and a rollout's new version) on one
    target compose, and each removes exactly its own share. The first non-zero level of an occurrence
    marks each target.
    """

    ramped = True
    attribute = "slow_factor"

    def __init__(self, ctx: FaultContext):
        super().__init__(ctx)
        self._applied: dict[str, float] = {}
        self._marked = -1

    @staticmethod
    def effect(spec: Any) -> float:
        """The effect at level 1, from a fault's spec (or a bad build's bug, which has the same fields)."""
        raise NotImplementedError

    def full(self) -> float:
        """The effect at level 1 of this fault."""
        return self.effect(self.ctx.spec)

    def describe(self) -> str:
        """What the mark on each target says."""
        raise NotImplementedError

    def apply(self, level: float) -> None:
        attribute = self.attribute
        none = neutral(attribute)
        value = none + (self.full() - none) * level
        for target in self.ctx.targets:
            replace_share(target, attribute, self._applied.get(target.name, none), value)
            self._applied[target.name] = value
        if level > 0 and self._marked != self.occurrence:
            self._marked = self.occurrence
            for target in self.ctx.targets:
                self.ctx.mark(target.name, self.describe())


FAULTS: Registry[Fault] = Registry("fault kind")


def hold_key(fault: Fault) -> str:
    """Key of one occurrence's hold, for faults whose hold outlives their logged window (instant faults)."""
    return f"{fault.ctx.spec.id}#{fault.occurrence}"


def take_down(ctx: FaultContext, comp: Any, detail: str, key: str | None = None) -> None:
    """Hold a component down for a fault (``key``, default the fault id) and record it, naming the fault.

    Servers crash without restart; load balancers, databases and caches stop answering (a cache also
    loses its data). A component that is already down records a transition naming this fault as well.
    Every fault holding a component is kept (``held_down``): it comes back only when the last one lets go.
    """
    comp.held_down.add(key or ctx.spec.id)
    if comp.kind == "server":
        comp.crash(ctx.cause(detail), None)
        return
    comp.available = False
    if comp.kind == "cache":
        comp.flush()
    ctx.world.set_state(comp.name, "down", ctx.cause(detail), force=True)


def bring_back(ctx: FaultContext, comp: Any, detail: str, key: str | None = None) -> bool:
    """Let go of a fault's hold; True when no other fault holds the component and it came back.

    Servers cold-start (reason ``detail``, loading model); the others answer again at once.
    """
    held = comp.held_down
    key = key or ctx.spec.id
    if key not in held:
        return False
    held.discard(key)
    if held:
        return False
    if comp.kind == "server":
        if comp.state == "down" and comp.restart_due():
            comp.start(None, f"{detail}, loading model")
        return True
    comp.available = True
    state = comp.rotation_state() if comp.kind == "load_balancer" else "healthy"
    ctx.world.set_state(comp.name, state, ctx.cause(detail))
    return True


def choose_targets(scenario: Scenario, spec: Any, stack: Stack, world: World) -> list[Any]:
    """Resolve a target selector to components, narrowing to count / percent with a seeded stream."""
    if getattr(spec, "target", None) is None:
        return []
    found = fault_candidates(scenario, spec, fault_inventory(scenario))
    names = [c.name for c in found if c.name in stack.by_name]
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
    """Arrange every fault's starts and stops on the world's clock."""
    for spec in scenario.faults:
        targets = choose_targets(scenario, spec, stack, world)
        window_end = world.duration_s if spec.duration_s is None else spec.at_s + spec.duration_s
        if spec.stochastic is not None:
            groups = [[t] for t in targets] or [[]]
            for group in groups:
                fault = FAULTS.create(spec.kind, FaultContext(world, stack, spec, group))
                label = group[0].name if group else "all"
                _Stochastic(world, fault, world.streams.get(f"{spec.id}:{label}", "schedule"), window_end).next_failure(
                    spec.at_s)
            continue
        fault = FAULTS.create(spec.kind, FaultContext(world, stack, spec, targets))
        starts = [spec.at_s]
        if spec.recurring is not None:
            starts = [spec.at_s + i * spec.recurring.every_s for i in range(spec.recurring.count)]
        for t0 in starts:
            world.call_later(t0, _start, world, fault)
            if spec.duration_s is not None and not fault.instant:
                world.call_later(t0 + spec.duration_s, _stop, world, fault)


class _Stochastic:
    """Alternating failures and repairs of one target inside the fault's window."""

    def __init__(self, world: World, fault: Fault, rng: Any, window_end_s: float):
        self.world = world
        self.fault = fault
        self.rng = rng
        self.end_s = window_end_s
        s = fault.ctx.spec.stochastic
        self.spec = s
        self.scale_s = s.mtbf_s / math.gamma(1.0 + 1.0 / s.shape) if s.distribution == "weibull" else s.mtbf_s

    def _ttf(self) -> float:
        if self.spec.distribution == "weibull":
            return self.scale_s * float(self.rng.weibull(self.spec.shape))
        return float(self.rng.exponential(self.spec.mtbf_s))

    def _ttr(self) -> float:
        if self.spec.repair_distribution == "deterministic":
            return self.spec.mttr_s
        return float(self.rng.exponential(self.spec.mttr_s))

    def next_failure(self, from_s: float) -> None:
        t_fail = from_s + self._ttf()
        if t_fail < self.end_s:
            self.world.call_later(t_fail - self.world.now, self._fail)

    def _fail(self) -> None:
        _start(self.world, self.fault)
        if self.fault.instant:  # recovery is the kind's own mechanism: no repair time
            self.next_failure(self.world.now)
            return
        t_repair = min(self.world.now + self._ttr(), self.end_s)
        self.world.call_later(t_repair - self.world.now, self._repair)

    def _repair(self) -> None:
        _stop(self.world, self.fault)
        self.next_failure(self.world.now)


def _log(world: World, fault: Fault, event: str) -> None:
    spec = fault.ctx.spec
    world.fault_log.append(
        {"t_s": world.now, "fault": spec.id, "kind": spec.kind, "event": event,
         "targets": [t.name for t in fault.ctx.targets]}
    )


def _start(world: World, fault: Fault) -> None:
    fid = fault.ctx.spec.id
    world.active_faults[fid] = world.active_faults.get(fid, 0) + 1
    if world.now < world.metrics.incident_from_s:
        world.metrics.incident_from_s = world.now  # impact is also counted from the first fault that fires
    fault.occurrence += 1
    _log(world, fault, "start")
    ramp_s = getattr(fault.ctx.spec, "ramp_s", 0.0)
    if fault.ramped and ramp_s > 0:
        fault.apply(1.0 / RAMP_STEPS)
        for k in range(2, RAMP_STEPS + 1):
            world.call_later(ramp_s * (k - 1) / RAMP_STEPS, _ramp, fault, fault.occurrence, k / RAMP_STEPS)
    else:
        fault.start()
    if fault.instant:
        _finish(world, fault)


def _ramp(fault: Fault, occurrence: int, level: float) -> None:
    if occurrence == fault.occurrence:
        fault.apply(level)


def _finish(world: World, fault: Fault) -> None:
    fid = fault.ctx.spec.id
    left = world.active_faults.get(fid, 0) - 1
    if left > 0:
        world.active_faults[fid] = left
    else:
        world.active_faults.pop(fid, None)
    _log(world, fault, "end")


def _stop(world: World, fault: Fault) -> None:
    _finish(world, fault)
    fault.occurrence += 1
    fault.stop()
