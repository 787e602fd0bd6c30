"""Correlated faults: a whole zone down, and a cleanup job deleting resources in several places at once.

Both take components down together (servers crash without restart, load balancers stop answering,
databases refuse connections, caches lose their data); survivors and failover are left to the
mechanisms (health checks, retries, zone spreading).
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, Fault, FaultContext


def take_down(ctx: FaultContext, comp: Any, detail: str) -> None:
    """Take one component of any kind down, naming the fault."""
    kind = comp.kind
    world = ctx.world
    if kind == "server":
        comp.crash(ctx.cause(detail), None)
    elif kind == "load_balancer":
        comp.available = False
        world.set_state(comp.name, "down", ctx.cause(detail))
    elif kind in ("database", "cache"):
        comp.available = False
        if kind == "cache":
            comp.flush()
        world.set_state(comp.name, "down", ctx.cause(detail))


def bring_back(ctx: FaultContext, comp: Any, detail: str) -> None:
    """Bring a component taken down by ``take_down`` back (servers cold-start)."""
    kind = comp.kind
    world = ctx.world
    if kind == "server":
        if comp.state == "down":
            comp.start(None, f"{detail}, loading model")
    elif kind == "load_balancer":
        comp.available = True
        n, total = len(comp.rotation), len(comp.servers)
        state = "healthy" if n == total else ("down" if n == 0 else "degraded")
        world.set_state(comp.name, state, ctx.cause(detail))
    elif kind in ("database", "cache"):
        comp.available = True
        world.set_state(comp.name, "healthy", ctx.cause(detail))


@FAULTS.register("zone_outage")
class ZoneOutage(Fault):
    """Every server, load balancer, database and cache of the zone is down for the window."""

    def _members(self) -> list[Any]:
        zone = self.ctx.spec.zone
        return [c for c in self.ctx.stack.by_name.values()
                if getattr(c, "zone", None) == zone and getattr(c, "kind", "") in
                ("server", "load_balancer", "database", "cache")]

    def start(self) -> None:
        for comp in self._members():
            take_down(self.ctx, comp, f"zone {self.ctx.spec.zone} outage")

    def stop(self) -> None:
        for comp in self._members():
            bring_back(self.ctx, comp, f"zone {self.ctx.spec.zone} back")


@FAULTS.register("cleanup_job")
class CleanupJob(Fault):
    """The targets are deleted; recreated after recreate_s each (instant fault) or at the window's end."""

    @property
    def instant(self) -> bool:
        return self.ctx.spec.recreate_s is not None

    def start(self) -> None:
        for comp in self.ctx.targets:
            take_down(self.ctx, comp, "deleted by a cleanup job")
        if self.ctx.spec.recreate_s is not None:
            self.ctx.world.call_later(self.ctx.spec.recreate_s, self._recreate)

    def _recreate(self) -> None:
        for comp in self.ctx.targets:
            bring_back(self.ctx, comp, "recreated")

    def stop(self) -> None:
        if self.ctx.spec.recreate_s is None:
            self._recreate()
