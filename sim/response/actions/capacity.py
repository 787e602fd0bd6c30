"""Capacity by hand: scale a pool, add control-plane capacity, scale a cache.

``scale_pool`` asks the pool's ``Provisioner`` (the autoscaler's path) for ``add`` replicas: each is
provisioned after ``provisioning_delay_s`` (a node and its GPUs), then cold-starts (model load) and
joins the load balancers through readiness, so new capacity arrives minutes after the decision. A
scale goes through the control plane (it waits while it is not serving). ``add_control_plane_capacity``
adds API servers through the control plane's port (``set_capacity`` under the action's source), after
``provisioning_delay_s``. ``scale_pool`` with ``remove`` takes the newest replicas out of the load
balancers, lets them drain and holds them down under the action's source (fewer nodes calling the
control plane: the control plane counts the nodes that are up). ``scale_cache`` calls the cache's
port verb ``scale`` after ``provisioning_delay_s``: each shard then serves ``factor`` times as many
commands at once, and its waiting line drains by its own dynamics.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sim.response.actions.base import ACTIONS, Action

REMOVE_GRACE_S = 30.0
"""How long a removed replica may drain (Kubernetes terminationGracePeriodSeconds, as the autoscaler's)."""


@ACTIONS.register("scale_pool")
class ScalePool(Action):
    """See the module docstring."""

    def start(self) -> None:
        self.ctx.when_control_plane(self._scale)

    def _scale(self) -> None:
        spec = self.ctx.spec
        if spec.remove is not None:
            self._remove(spec.remove)
            return
        provisioner = self.ctx.stack.provisioners[spec.pool]
        delay_s = spec.provisioning_delay_s
        for _ in range(spec.add):
            provisioner.provision(delay_s, f"scaled up by operators ({spec.name})", f"added by operators ({spec.name})")
        self.ctx.note("action starts", f"{spec.name}: {spec.add} replicas of {spec.pool} ordered "
                                       f"({delay_s:g} s to provision, then the model load)")
        self.ctx.world.call_later(delay_s, self.ctx.note, "action done", f"{spec.name}: {spec.add} replicas "
                                                                          f"provisioned, loading the model")


    def _remove(self, count: int) -> None:
        spec = self.ctx.spec
        source = self.ctx.source
        victims = [s for s in reversed(self.ctx.stack.servers) if s.pool == spec.pool and source not in s.holds][:count]
        self.left = len(victims)
        detail = f"removed by operators ({spec.name})"
        self.ctx.note("action starts", f"{spec.name}: removing {len(victims)} replicas of {spec.pool}")
        for server in victims:
            for lb in self.ctx.stack.load_balancers:
                if server in lb.servers:
                    lb.remove_server(server, detail)
            if server.serving:
                server.drain(self.ctx.cause(f"{detail}: draining"), partial(self._removed, server), REMOVE_GRACE_S)
            else:
                self._removed(server, False)
        if not victims:
            self.ctx.note("action done", f"{spec.name}: no replica left to remove")

    def _removed(self, server: Any, killed: bool) -> None:
        """Stopped and held down under the action's source (no restart, whatever ends later)."""
        server.hold(self.ctx.source, self.ctx.cause(f"removed by operators ({self.ctx.spec.name})"))
        self.left -= 1
        if self.left == 0:
            self.ctx.note("action done", f"{self.ctx.spec.name}: replicas removed")


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


@ACTIONS.register("scale_cache")
class ScaleCache(Action):
    """See the module docstring."""

    def start(self) -> None:
        spec = self.ctx.spec
        self.ctx.note("action starts", f"{spec.name}: scaling {spec.cache} x{spec.factor:g} "
                                       f"({spec.provisioning_delay_s:g} s to bring it up)")
        self.ctx.world.call_later(spec.provisioning_delay_s, self._scaled)

    def _scaled(self) -> None:
        spec = self.ctx.spec
        self.ctx.stack.by_name[spec.cache].scale(spec.factor, self.ctx.cause(f"cache scaled x{spec.factor:g}"))
        self.ctx.note("action done", f"{spec.name}: {spec.cache} serves x{spec.factor:g} commands at once")
