"""How faults are scheduled: pick targets with the run's seeded streams, start, stop, and log it.

A fault family is a class registered under its ``kind`` with ``start()`` and ``stop()``. It changes
one thing on its targets through their port (``sim/components/ports.py``): an effect set under its
own source key, a hold, a lifecycle verb (crash, drain, restart). The consequences are left to the
simulator's mechanisms. A fault's end is generic: clear its source and release its holds
(``Fault.stop``); kinds with more to undo add to it. Starting and stopping are written to the fault
ledger (``sim/faults/ledger.py``), and any state change a fault causes directly names the fault id
as its cause (a root of the cascade graph). The timers a fault schedules for one window
(``ctx.timers``) are cancelled at its end.

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

from sim.components.effects import EFFECTS
from sim.engine.timeline import Cause
from sim.engine.world import TimerGroup, World
from sim.faults.ledger import FaultLedger, ledger_of
from sim.resilience.registry import Registry
from sim.spec.inventory import TargetIndex, fault_candidates, fault_inventory
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
    timers: TimerGroup | None = None
    """Timers of the current window: cancelled when the window ends."""

    def __post_init__(self) -> None:
        if self.timers is None:
            self.timers = self.world.timers()

    def retarget(self, targets: list[Any]) -> None:
        """The targets of this occurrence (kinds whose targets are what is somewhere when they start)."""
        self.targets = targets

    @property
    def source(self) -> str:
        """The key this fault's effects and holds go by: its id."""
        return self.spec.id

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
        self.active = False
        """In a window now (between its start and its end)."""
        self.mitigated = False
        """Ended by people (a runbook action): no later occurrence starts."""

    @property
    def instant(self) -> bool:
        """Over as soon as it happened: its end is logged at once; recovery is a mechanism's job."""
        return False

    def start(self) -> None:
        if not self.ramped:
            raise NotImplementedError
        self.apply(1.0)

    def stop(self) -> None:
        """Remove the trigger: level 0 for ramped kinds; then clear this fault's effects and release its
        holds on its targets (generic: whatever it set under its source key)."""
        if self.ramped:
            self.apply(0.0)
        release_all(self.ctx, self.ctx.source, self.ctx.cause(self.end_detail))

    end_detail = "fault over"
    """What a target's release records when the window ends."""

    def halt(self) -> None:
        """Stop spreading (a rollback pauses the rollout first): cancel this window's pending timers (ramp
        steps, deploy batches, propagation); what already happened stays until its end."""
        self.ctx.timers.cancel_all()

    def end_on(self, target: Any, detail: str) -> None:
        """End this fault's effect on one target (a replica rolled back, a node re-imaged): the generic end
        restricted to it, clear its source there and release its holds (the window's key and, for an
        instant kind, every occurrence's ``id#n``). Kinds that keep per-target state add to it."""
        source = self.ctx.source
        target.effects.clear(source)
        cause = self.ctx.cause(detail)
        for key in [k for k in target.holds if k == source or k.startswith(source + "#")]:
            target.release(key, cause)

    def apply(self, level: float) -> None:
        """Set the effect's intensity (ramped kinds only)."""
        raise NotImplementedError

    def resolve_targets(self) -> None:
        """Called at each start, before the fault log names the targets: kinds whose targets are what is
        somewhere at that moment (a zone's members) find them here."""


class FactorFault(Fault):
    """A fault that sets one effect of each target, and can ramp.

    A factor (``multiply`` rule) is 1 + (full - 1) x level; a share (``add_cap``) is full x level
    (``sim.components.effects``). Several faults (and bad builds, and a rollout's new version) on one
    target compose by the effect's rule, and each clears exactly its own source. The first non-zero
    level of an occurrence marks each target; the mark is the effect's parent (blame).
    """

    ramped = True
    effect_name = "slow_factor"

    def __init__(self, ctx: FaultContext):
        super().__init__(ctx)
        self._marked = -1
        self._marks: dict[str, int | None] = {}

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
        name = self.effect_name
        source = self.ctx.source
        if level <= 0:
            for target in self.ctx.targets:
                target.effects.clear(source, name)
            return
        if self._marked != self.occurrence:
            self._marked = self.occurrence
            for target in self.ctx.targets:
                self._marks[target.name] = self.ctx.mark(target.name, self.describe())
        none = EFFECTS[name].neutral
        value = none + (self.full() - none) * level
        for target in self.ctx.targets:
            target.effects.set(source, name, value, self._marks.get(target.name))


FAULTS: Registry[Fault] = Registry("fault kind")


def hold_key(fault: Fault) -> str:
    """Key of one occurrence's hold, for faults whose hold outlives their logged window (instant faults)."""
    return f"{fault.ctx.spec.id}#{fault.occurrence}"


def take_down(ctx: FaultContext, comp: Any, detail: str, key: str | None = None) -> None:
    """Hold a component down for a fault (``key``, default the fault id), recorded naming the fault.

    What being held means is the component's business (``hold`` on its port): a replica crashes without
    restart, a load balancer, database or cache stops answering (a cache also loses its data). Every
    hold is kept: the component comes back only when the last one lets go.
    """
    comp.hold(key or ctx.source, ctx.cause(detail))


def bring_back(ctx: FaultContext, comp: Any, detail: str, key: str | None = None) -> bool:
    """Let go of a fault's hold; True when no other hold remains and the component came back."""
    return comp.release(key or ctx.source, ctx.cause(detail))


def release_all(ctx: FaultContext, source: str, cause: Cause) -> None:
    """A fault's generic end: clear its effects and release its holds (key ``source``) on its targets."""
    for target in ctx.targets:
        target.effects.clear(source)
        if source in target.holds:
            target.release(source, cause)


def choose_targets(scenario: Scenario, spec: Any, stack: Stack, world: World,
                   index: TargetIndex | None = None) -> list[Any]:
    """Resolve a target selector to components, narrowing to count / percent with a seeded stream.

    ``index``: the scenario's fault inventory indexed once for all its faults (``schedule_faults``), so
    that scheduling costs O(faults + components), not faults x components.
    """
    if getattr(spec, "target", None) is None:
        return []
    found = fault_candidates(scenario, spec, index if index is not None else TargetIndex(fault_inventory(scenario)))
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


def schedule_faults(scenario: Scenario, stack: Stack, world: World) -> FaultLedger:
    """Arrange every fault's starts and stops on the world's clock; returns the run's fault ledger."""
    ledger_of(world)  # the run has a ledger (and a fault log) even when no fault fires
    index = TargetIndex(fault_inventory(scenario)) if scenario.faults else None
    for spec in scenario.faults:
        targets = choose_targets(scenario, spec, stack, world, index)
        window_end = world.duration_s if spec.duration_s is None else spec.at_s + spec.duration_s
        if spec.stochastic is not None:
            groups = [[t] for t in targets] or [[]]
            for group in groups:
                fault = FAULTS.create(spec.kind, FaultContext(world, stack, spec, group))
                ledger_of(world).scheduled(spec.id, fault)
                label = group[0].name if group else "all"
                _Stochastic(world, fault, world.streams.get(f"{spec.id}:{label}", "schedule"), window_end).next_failure(
                    spec.at_s)
            continue
        fault = FAULTS.create(spec.kind, FaultContext(world, stack, spec, targets))
        ledger_of(world).scheduled(spec.id, fault)
        starts = [spec.at_s]
        if spec.recurring is not None:
            starts = [spec.at_s + i * spec.recurring.every_s for i in range(spec.recurring.count)]
        for t0 in starts:
            world.call_later(t0, _start, world, fault)
            if spec.duration_s is not None and not fault.instant:
                world.call_later(t0 + spec.duration_s, _stop, world, fault)
    return ledger_of(world)


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
        if self.fault.mitigated:
            return
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
    ledger = ledger_of(world)
    targets = [t.name for t in fault.ctx.targets]
    if event == "start":
        ledger.started(world.now, spec.id, spec.kind, targets)
    else:
        ledger.ended(world.now, spec.id, spec.kind, targets)


def _start(world: World, fault: Fault) -> None:
    if fault.mitigated:  # people ended it for good: no later occurrence
        return
    if world.now < world.metrics.incident_from_s:
        world.metrics.incident_from_s = world.now  # impact is also counted from the first fault that fires
    fault.occurrence += 1
    fault.resolve_targets()
    fault.active = not fault.instant
    _log(world, fault, "start")
    ramp_s = getattr(fault.ctx.spec, "ramp_s", 0.0)
    if fault.ramped and ramp_s > 0:
        fault.apply(1.0 / RAMP_STEPS)
        for k in range(2, RAMP_STEPS + 1):
            fault.ctx.timers.call_later(ramp_s * (k - 1) / RAMP_STEPS, fault.apply, k / RAMP_STEPS)
    else:
        fault.start()
    if fault.instant:
        _log(world, fault, "end")


def _stop(world: World, fault: Fault) -> None:
    if not fault.active:  # already ended (by a runbook action)
        return
    fault.active = False
    _log(world, fault, "end")
    fault.occurrence += 1
    fault.ctx.timers.cancel_all()
    fault.stop()


def end_fault(world: World, fault_id: str, detail: str) -> bool:
    """People end a fault (a runbook action): its active window ends through its own end path (``stop``:
    clear its source, release its holds, and what the kind adds), and no later occurrence starts.

    Returns whether a window was active. Releases record ``detail`` (who ended it).
    """
    was_active = False
    for fault in ledger_of(world).faults_of(fault_id):
        fault.mitigated = True
        if fault.active:
            was_active = True
            fault.end_detail = detail
            _stop(world, fault)
    return was_active


def end_fault_on(world: World, fault_id: str, target: Any, detail: str) -> None:
    """People end a fault on one target (``Fault.end_on``); once no target keeps any of its effects or holds,
    the fault's window ends as a whole (logged, and no later occurrence)."""
    for fault in ledger_of(world).faults_of(fault_id):
        if target not in fault.ctx.targets:
            continue
        fault.end_on(target, detail)
        source = fault.ctx.source
        if fault.active and all(_untouched(t, source) for t in fault.ctx.targets):
            end_fault(world, fault_id, detail)


def _untouched(target: Any, source: str) -> bool:
    """Whether a target keeps nothing of a fault's (no effect source, no hold)."""
    effects = target.effects
    if any(source in effects.sources(name) for name in effects.names()):
        return False
    return not any(k == source or k.startswith(source + "#") for k in target.holds)
