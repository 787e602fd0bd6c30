"""Correlated faults: a whole zone down, and a cleanup job deleting resources in several places at once.

Both take components down together (servers crash without restart, load balancers stop answering,
databases refuse connections, caches lose their data); survivors and failover are left to the
mechanisms (health checks, retries, zone spreading). Each holds its components down
(``sim.faults.base.take_down``): one that another fault still holds stays down when this one ends.
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, Fault, bring_back, hold_key, take_down


@FAULTS.register("zone_outage")
class ZoneOutage(Fault):
    """Every server, load balancer, database and cache of the zone is down for the window."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.members: list[Any] = []
        """The zone's components (taken at the start, taken again at the end: ``bring_back`` lets go only
        of those this outage holds, so a component that left the zone meanwhile keeps its own course)."""

    def _members(self) -> list[Any]:
        zone = self.ctx.spec.zone
        return [c for c in self.ctx.stack.by_name.values()
                if getattr(c, "zone", None) == zone and getattr(c, "kind", "") in
                ("server", "load_balancer", "database", "cache")]

    def start(self) -> None:
        zone = self.ctx.spec.zone
        self.ctx.world.zones_down.setdefault(zone, set()).add(self.ctx.spec.id)
        self.members = self._members()
        for comp in self.members:
            take_down(self.ctx, comp, f"zone {zone} outage")

    def stop(self) -> None:
        """Let go of the zone, including what arrived during the outage (a replica the autoscaler added,
        a database promoted there): those start held by ``world.zones_down``, so they hold this id too."""
        zone = self.ctx.spec.zone
        down = self.ctx.world.zones_down.get(zone, set())
        down.discard(self.ctx.spec.id)
        if not down:
            self.ctx.world.zones_down.pop(zone, None)
        self.members = self._members()
        for comp in self.members:
            bring_back(self.ctx, comp, f"zone {zone} back")


@FAULTS.register("cleanup_job")
class CleanupJob(Fault):
    """The targets are deleted; recreated after recreate_s each (instant fault) or at the window's end."""

    @property
    def instant(self) -> bool:
        return self.ctx.spec.recreate_s is not None

    def start(self) -> None:
        key = hold_key(self) if self.ctx.spec.recreate_s is not None else None
        for comp in self.ctx.targets:
            take_down(self.ctx, comp, "deleted by a cleanup job", key)
        if key is not None:
            self.ctx.world.call_later(self.ctx.spec.recreate_s, self._recreate, key)

    def _recreate(self, key: str | None) -> None:
        for comp in self.ctx.targets:
            bring_back(self.ctx, comp, "recreated", key)

    def stop(self) -> None:
        if self.ctx.spec.recreate_s is None:
            self._recreate(None)
