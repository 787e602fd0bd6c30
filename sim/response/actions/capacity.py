"""Capacity by hand: scale a pool, add control-plane capacity.

``scale_pool`` asks the pool's ``Provisioner`` (the autoscaler's path) for ``add`` replicas: each is
provisioned after ``provisioning_delay_s`` (a node and its GPUs), then cold-starts (model load) and
joins the load balancers through readiness, so new capacity arrives minutes after the decision. A
scale goes through the control plane (it waits while it is not serving). ``add_control_plane_capacity``
adds API servers through the control plane's port (``set_capacity`` under the action's source), after
``provisioning_delay_s``.
"""

from __future__ import annotations

from sim.response.actions.base import ACTIONS, Action


@ACTIONS.register("scale_pool")
class ScalePool(Action):
    """See the module docstring."""

    def start(self) -> None:
        self.ctx.when_control_plane(self._scale)

    def _scale(self) -> None:
        spec = self.ctx.spec
        provisioner = self.ctx.stack.provisioners[spec.pool]
        delay_s = spec.provisioning_delay_s
        for _ in range(spec.add):
            provisioner.provision(delay_s, f"scaled up by operators ({spec.name})", f"added by operators ({spec.name})")
        self.ctx.note("action starts", f"{spec.name}: {spec.add} replicas of {spec.pool} ordered "
                                       f"({delay_s:g} s to provision, then the model load)")
        self.ctx.world.call_later(delay_s, self.ctx.note, "action done", f"{spec.name}: {spec.add} replicas "
                                                                          f"provisioned, loading the model")


@ACTIONS.register("add_control_plane_capacity")
class AddControlPlaneCapacity(Action):
    """See the module docstring."""

    def start(self) -> None:
        spec = self.ctx.spec
        self.ctx.note("action starts", f"{spec.name}: adding {spec.capacity_ops_s:,.0f} ops/s of control-plane "
                                       f"capacity ({spec.provisioning_delay_s:g} s to bring it up)")
        self.ctx.world.call_later(spec.provisioning_delay_s, self._added)

    def _added(self) -> None:
        spec = self.ctx.spec
        for cp in self.ctx.control_planes(spec.control_plane):
            cp.set_capacity(self.ctx.source, self.ctx.cause(f"operators added {spec.capacity_ops_s:,.0f} ops/s"),
                            added_ops_s=spec.capacity_ops_s)
        self.ctx.note("action done", f"{spec.name}: control-plane capacity added")
