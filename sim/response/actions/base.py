"""What a runbook action is given and may use: the world, the stack, its spec, the log, the control plane.

An action changes components only through their port (``sim/components/ports.py``): effects set
under its own source key (``response:<name>``), holds, lifecycle verbs; it ends a fault only through
the fault's own end path (``sim.faults.end_fault`` / ``end_fault_on``). Every transition it causes
directly names it (``Cause('operator', name, kind, detail)``): not a root of the cascade graph, the
way out of one. An action that needs the control plane (a deploy, a scale) waits while it is not
serving (``when_control_plane``, through the control plane's port: ``serving``, ``call_when_serving``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.resilience.registry import Registry
from sim.response.log import ResponseLog


@dataclass
class ActionContext:
    """What one action acts on and reports to."""

    world: World
    stack: Any
    spec: Any
    log: ResponseLog
    control_plane: Any = None
    """The control plane the action waits for (None: it does not wait)."""

    @property
    def source(self) -> str:
        """The key the action's effects go by."""
        return f"response:{self.spec.name}"

    def cause(self, detail: str) -> Cause:
        return Cause("operator", self.spec.name, self.spec.kind, detail)

    def mark(self, component: str, detail: str) -> int | None:
        """Record the action's direct effect on a component (its state is kept)."""
        current = self.world.timeline.current.get(component, "healthy")
        return self.world.set_state(component, current, self.cause(detail), force=True)

    def note(self, event: str, text: str, **fields: Any) -> None:
        self.log.add(self.world.now, event, text, action=self.spec.name, kind=self.spec.kind, **fields)

    def when_control_plane(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` now if the control plane serves (or is not needed), else as soon as it does
        (its port's ``call_when_serving``: card 8's lock-out)."""
        cp = self.control_plane
        if cp is None or cp.serving:
            fn(*args)
            return
        self.note("action waits", f"{self.spec.name}: waiting for the control plane ({cp.name} is {cp.state})")
        cp.call_when_serving(self._resumed, fn, args)

    def _resumed(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.note("action step", f"{self.spec.name}: the control plane serves again; going on")
        fn(*args)

    def control_planes(self, name: str | None = None) -> list[Any]:
        """The control plane named ``name``; without a name, discovery's ("control-plane"), else the only one."""
        return control_plane_for(self.stack, name, None)

    def load_balancers(self) -> list[Any]:
        """The load balancers the spec names, or every one."""
        names = getattr(self.spec, "load_balancers", None)
        lbs = self.stack.load_balancers
        return lbs if names is None else [lb for lb in lbs if lb.name in names]


class Action:
    """Base of an action kind: ``start()`` runs it (the runbook calls it when it is due)."""

    mitigating = True
    """Counts for the status page's Identified / Monitoring (every kind does today)."""

    def __init__(self, ctx: ActionContext):
        self.ctx = ctx

    def start(self) -> None:
        raise NotImplementedError


ACTIONS: Registry[Action] = Registry("response action")


def control_plane_for(stack: Any, name: str | None, pool: str | None) -> list[Any]:
    """The control plane an action concerns: the one named; else the one covering the pool's replicas
    (``covers``, a cluster's own control plane); else discovery's ("control-plane"); else the only one."""
    planes = [c for c in stack.by_name.values() if getattr(c, "kind", "") == "control_plane"]
    if name is not None:
        return [c for c in planes if c.name == name]
    if pool is not None:
        replicas = [s for s in stack.servers if s.pool == pool]
        covering = [c for c in planes if hasattr(c, "covers") and replicas and c.covers(replicas[0])]
        if covering:
            return covering[:1]
    default = [c for c in planes if c.name == "control-plane"]
    return default or (planes if len(planes) == 1 else [])
