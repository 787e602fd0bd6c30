"""Fail over away from a zone (a region): traffic stops going there; or promote a database's standby.

With ``database``, the database's failover controller promotes its standby now (``promote_now``),
even while the primary still answers, in its ``promotion_s``. With ``zone``:

Every load balancer takes the zone's replicas out of rotation under its own ``failover`` mechanism
(``eject``: they come back only when that mechanism restores them, whatever health checks say), and
the zone's load balancers are held out of service under the action's source, so clients that pick a
load balancer by health-checked DNS withdraw them after their checks and the record's TTL. With
``duration_s`` the failover is undone (failback) after that long. The survivors take the load:
whether they can is the scenario's capacity, not the action's.
"""

from __future__ import annotations

from sim.response.actions.base import ACTIONS, Action

MECHANISM = "failover"
"""The rotation mechanism an operator failover ejects under (health checks cannot undo it)."""


@ACTIONS.register("failover")
class Failover(Action):
    """See the module docstring."""

    def start(self) -> None:
        spec = self.ctx.spec
        if spec.database is not None:
            self._promote()
            return
        zone = spec.zone
        self.replicas = [s for s in self.ctx.stack.servers if s.zone == zone]
        self.held = [lb for lb in self.ctx.stack.load_balancers if lb.zone == zone]
        detail = f"failover away from {zone} ({spec.name})"
        for lb in self.ctx.stack.load_balancers:
            mine = [s for s in self.replicas if s in lb.servers]
            if mine:
                self.ctx.mark(lb.name, f"{detail}: {len(mine)} replicas taken out of rotation")
            for server in mine:
                lb.eject(server, detail, MECHANISM)
        for lb in self.held:
            lb.hold(self.ctx.source, self.ctx.cause(detail))
        self.ctx.note("action done", f"{spec.name}: traffic failed over away from {zone} "
                                     f"({len(self.replicas)} replicas, {len(self.held)} load balancers)")
        if spec.duration_s is not None:
            self.ctx.world.call_later(spec.duration_s, self._failback)

    def _promote(self) -> None:
        """The database's failover controller promotes its standby now (``promote_now``)."""
        spec = self.ctx.spec
        controller = self.ctx.stack.mechanisms[f"failover:{spec.database}"]
        if not controller.promote_now(f"operators ({spec.name})"):
            self.ctx.note("action done", f"{spec.name}: no standby of {spec.database} ready to promote")
            return
        self.ctx.note("action starts", f"{spec.name}: promoting the standby of {spec.database}")
        self.ctx.world.call_later(controller.spec.promotion_s, self.ctx.note, "action done",
                                  f"{spec.name}: standby of {spec.database} promoted")

    def _failback(self) -> None:
        spec = self.ctx.spec
        detail = f"failback to {spec.zone} ({spec.name})"
        for lb in self.held:
            lb.release(self.ctx.source, self.ctx.cause(detail))
        for lb in self.ctx.stack.load_balancers:
            for server in self.replicas:
                if server in lb.servers:
                    lb.restore(server, detail, MECHANISM)
        self.ctx.note("action ends", f"{spec.name}: traffic back to {spec.zone}")
