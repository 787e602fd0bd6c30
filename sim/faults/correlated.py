"""Correlated faults: a whole zone down, and a cleanup job deleting resources in several places at once.

Both take components down together (servers crash without restart, load balancers stop answering,
databases refuse connections, caches lose their data); survivors and failover are left to the
mechanisms (health checks, retries, zone spreading). Each holds its components down
(``sim.faults.base.take_down``): one that another fault still holds stays down when this one ends.
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, Fault, bring_back, hold_key, take_down
from sim.faults.ledger import ledger_of

ZONE_MEMBER_KINDS = ("server", "load_balancer", "database", "cache")


def zone_members(stack: Any, zone: str) -> list[Any]:
    """The components in ``zone`` that a zone outage takes down, in the stack's order."""
    return [c for c in stack.by_name.values() if getattr(c, "zone", None) == zone
            and getattr(c, "kind", "") in ZONE_MEMBER_KINDS]


@FAULTS.register("zone_outage")
class ZoneOutage(Fault):
    """Every server, load balancer, database and cache of the zone is down for the window.

    Its targets are the zone's members when it starts (they are what the fault log names); what
    arrives in the zone during the outage (a replica the autoscaler added, a database promoted
    there) starts held by it too (``FaultLedger.zone_outages``)."""

    def resolve_targets(self) -> None:
        self.ctx.retarget(zone_members(self.ctx.stack, self.ctx.spec.zone))

    def start(self) -> None:
        zone = self.ctx.spec.zone
        ledger_of(self.ctx.world).zone_down(zone, self.ctx.source)
        for comp in self.ctx.targets:
            take_down(self.ctx, comp, f"zone {zone} outage")

    def stop(self) -> None:
        """Let go of the zone: of whatever is in it now and this outage holds (a component that left the
        zone meanwhile, a promoted database, holds what its new zone holds)."""
        zone = self.ctx.spec.zone
        ledger_of(self.ctx.world).zone_up(zone, self.ctx.source)
        for comp in zone_members(self.ctx.stack, zone):
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
