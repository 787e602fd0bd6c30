"""The control plane (Kubernetes API servers, say) that DNS / service discovery depends on.

Its load is a base plus a share per server node, plus whatever faults add or multiply (a fleet-wide
change, a control-plane overload). Above its capacity it is overloaded and fails every call (its
queues fill and calls time out), so discovery cannot refresh records; it comes back ``restart_s``
after the load has fallen below ``recover_below`` of the capacity. Discovery depending on it is
what turns a control-plane failure into a data-plane failure one DNS TTL later (incident 8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.components.effects import Effects
from sim.components.lifecycle import Holds
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.spec.control_plane import ControlPlaneSpec

CHECK_PERIOD_S = 10.0
"""How often the load is re-evaluated (the fleet can grow or shrink between fault changes)."""


class ControlPlane:
    """Capacity versus load; ``serving`` is False while overloaded or restarting."""

    kind = "control_plane"

    def __init__(self, world: World, name: str, spec: ControlPlaneSpec, nodes: Callable[[], int]):
        self.world = world
        self.name = name
        self.spec = spec
        self.nodes = nodes
        self.effects = Effects(("added_ops_s", "load_multiplier"))
        """What faults add to the load (a fleet-wide change) and multiply it by (an overload), by source."""
        self.holds = Holds()
        self.zone: str | None = None
        self.serving = True
        self.state = "healthy"
        self.dependents: list[Any] = []
        self.peak_load_ops_s = 0.0
        self._token = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "serving"))
        world.call_later(CHECK_PERIOD_S, self._tick)

    def load_ops_s(self) -> float:
        """Current load: (base + per node x nodes + added) x every multiplier."""
        effects = self.effects
        load = self.spec.base_ops_s + self.spec.ops_per_node_s * self.nodes() + effects["added_ops_s"]
        return load * effects["load_multiplier"]

    def set_load(self, key: str, cause: Cause, added_ops_s: float = 0.0, multiplier: float = 1.0) -> None:
        """A fault adds load (or removes it, with the defaults); the change is recorded with its cause."""
        effects = self.effects
        if added_ops_s:
            effects.set(key, "added_ops_s", added_ops_s)
        else:
            effects.clear(key, "added_ops_s")
        if multiplier != 1.0:
            effects.set(key, "load_multiplier", multiplier)
        else:
            effects.clear(key, "load_multiplier")
        detail = f"load now {self.load_ops_s():,.0f} ops/s (capacity {self.spec.capacity_ops_s:,.0f})"
        tid = self.world.set_state(self.name, self.state, Cause(cause.kind, cause.source, cause.mechanism,
                                                                 f"{cause.detail}; {detail}", cause.parents),
                                   force=True)
        self._evaluate(tid)

    def hold(self, key: str, cause: Cause | None) -> None:
        """Nothing holds a control plane out of service (its capacity mechanism takes it down)."""
        raise TypeError(f"{self.name}: a control plane is not held down; change its load (set_load)")

    def release(self, key: str, cause: Cause) -> bool:
        return False

    def _tick(self) -> None:
        self._evaluate(None)
        self.world.call_later(CHECK_PERIOD_S, self._tick)

    def _evaluate(self, parent: int | None) -> None:
        load = self.load_ops_s()
        self.peak_load_ops_s = max(self.peak_load_ops_s, load)
        cap = self.spec.capacity_ops_s
        if self.state == "healthy" and load > cap:
            parents = (parent,) if parent is not None else (self.world.timeline.last_transition[self.name],)
            self._set("overloaded", Cause("mechanism", self.name, "capacity",
                                          f"{load:,.0f} ops/s above capacity {cap:,.0f}: calls time out", parents))
        elif self.state == "overloaded" and load < cap * self.spec.recover_below:
            self._token += 1
            self.state = "starting"
            self.world.set_state(self.name, "starting", Cause(
                "mechanism", self.name, "capacity", f"load fell to {load:,.0f} ops/s; API servers restarting"))
            self.world.call_later(self.spec.restart_s, self._restarted, self._token)

    def _restarted(self, token: int) -> None:
        if token != self._token or self.state != "starting":
            return
        if self.load_ops_s() > self.spec.capacity_ops_s:
            self.state = "healthy"
            self._evaluate(None)
            return
        self._set("healthy", Cause("mechanism", self.name, "restart", "API servers back"))

    def _set(self, state: str, cause: Cause) -> None:
        self.state = state
        self.serving = state == "healthy"
        tid = self.world.set_state(self.name, state, cause)
        for dep in self.dependents:
            dep.control_plane_changed(self.serving, tid)

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind}
