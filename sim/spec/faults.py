"""Faults section: what breaks, where, and when.

A fault changes one thing on its targets for its window; everything that follows must come from the
simulator's mechanisms. Targets are selected as chaos tools select them: by name, pool, zone or
label, then narrowed to a count or a percentage (chosen with the run's seeded streams).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.spec.common import Name, StrictModel


class TargetSpec(StrictModel):
    """Which components a fault hits: every filter given must match; then count / percent narrow it."""

    name: Name | None = None
    pool: Name | None = None
    zone: Name | None = None
    labels: dict[str, str] | None = None
    count: int | None = Field(None, ge=1, description="Pick this many of the matches at random.")
    percent: float | None = Field(None, gt=0, le=100, description="Pick this share of the matches (rounded up).")

    @model_validator(mode="after")
    def _one_narrowing(self) -> TargetSpec:
        if self.count is not None and self.percent is not None:
            raise ValueError("give count or percent, not both")
        if self.name is None and self.pool is None and self.zone is None and self.labels is None:
            raise ValueError("give at least one of name, pool, zone, labels")
        return self


class FaultBase(StrictModel):
    """Fields every fault has: an id, targets and a window."""

    id: Name
    target: TargetSpec
    at_s: float = Field(ge=0, description="When the fault starts.")
    duration_s: float | None = Field(None, gt=0, description="How long it lasts; null: to the end of the run.")


class CrashFault(FaultBase):
    """Process crash of the targeted servers; with restart, they restart after restart_delay_s and a cold start."""

    kind: Literal["crash"]
    restart: bool = Field(True, description="Restart automatically (delay, then model load).")
    restart_delay_s: float = Field(10.0, ge=0, description="Time before the restart begins.")


FaultSpec = CrashFault
