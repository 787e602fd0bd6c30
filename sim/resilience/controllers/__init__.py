"""Controllers: what acts on a fleet from outside its components (autoscaler, rollout, maintenance under a
disruption budget, database failover, liveness restarts). Each acts through the components' port
(``sim/components/ports.py``: effects, holds, crash, drain, start), the one faults use too."""

from __future__ import annotations

from typing import Any


def zone_outages(world: Any, zone: str | None) -> set[str]:
    """Ids of the zone outages holding ``zone`` down now (asked of the fault ledger; none without faults)."""
    ledger = getattr(world, "faults", None)
    return ledger.zone_outages(zone) if ledger is not None else set()


def fault_active(world: Any, fault_id: str) -> bool:
    """Whether a fault is in its window now (asked of the fault ledger)."""
    ledger = getattr(world, "faults", None)
    return ledger is not None and ledger.active(fault_id)
