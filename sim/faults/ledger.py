"""The faults' own bookkeeping: which are active, the fault log, and which zones are out.

Kept with the faults, not in ``World``: the schedule writes it, results read the log, and the
controllers that must know about outages (an autoscaler placing a replica, a failover choosing a
standby) ask it questions (``zone_outages``, ``active``).
"""

from __future__ import annotations

from typing import Any


class FaultLedger:
    """Active faults, the fault log (start and end of every occurrence) and zone outages."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        """One entry per start and end: time, fault id, kind, event, target names."""
        self._active: dict[str, int] = {}
        self._zones_down: dict[str, set[str]] = {}
        self._faults: dict[str, list[Any]] = {}

    def scheduled(self, fault_id: str, fault: Any) -> None:
        """A fault object was scheduled under this id (one per spec; one per target for stochastic faults)."""
        self._faults.setdefault(fault_id, []).append(fault)

    def faults_of(self, fault_id: str) -> list[Any]:
        """The fault objects scheduled under this id (what a runbook action ends)."""
        return list(self._faults.get(fault_id, ()))

    def started(self, t_s: float, fault_id: str, kind: str, targets: list[str]) -> None:
        self._active[fault_id] = self._active.get(fault_id, 0) + 1
        self._entry(t_s, fault_id, kind, "start", targets)

    def ended(self, t_s: float, fault_id: str, kind: str, targets: list[str]) -> None:
        left = self._active.get(fault_id, 0) - 1
        if left > 0:
            self._active[fault_id] = left
        else:
            self._active.pop(fault_id, None)
        self._entry(t_s, fault_id, kind, "end", targets)

    def _entry(self, t_s: float, fault_id: str, kind: str, event: str, targets: list[str]) -> None:
        self.log.append({"t_s": t_s, "fault": fault_id, "kind": kind, "event": event, "targets": targets})

    def active(self, fault_id: str) -> bool:
        """Whether an occurrence of this fault is in its window now."""
        return fault_id in self._active

    def zone_down(self, zone: str, fault_id: str) -> None:
        self._zones_down.setdefault(zone, set()).add(fault_id)

    def zone_up(self, zone: str, fault_id: str) -> None:
        down = self._zones_down.get(zone)
        if down is not None:
            down.discard(fault_id)
            if not down:
                del self._zones_down[zone]

    def zone_outages(self, zone: str | None) -> set[str]:
        """Ids of the zone outages holding ``zone`` down now (what is created or moved there starts held)."""
        return set(self._zones_down.get(zone, ())) if zone is not None else set()


def ledger_of(world: Any) -> FaultLedger:
    """The run's ledger (``world.faults``), created on first use."""
    ledger = getattr(world, "faults", None)
    if ledger is None:
        ledger = FaultLedger()
        world.use_fault_ledger(ledger)
    return ledger
