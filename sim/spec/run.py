"""Run section: duration, warm-up, seed and metric resolution."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.spec.common import StrictModel


class RunSpec(StrictModel):
    """How long to simulate and how finely to record."""

    duration_s: float = Field(600.0, gt=0, description="Simulated time.")
    warmup_s: float = Field(0.0, ge=0, description="Excluded from percentiles and the SLO verdict.")
    seed: int = Field(1, ge=0, description="Root seed of every random stream.")
    bucket_s: float = Field(1.0, gt=0, description="Width of a time-series bucket.")

    @model_validator(mode="after")
    def _warmup_inside(self) -> RunSpec:
        if self.warmup_s >= self.duration_s:
            raise ValueError("warmup_s must be shorter than duration_s")
        if self.duration_s / self.bucket_s > 1_000_000:
            raise ValueError("bucket_s is too small for duration_s (more than 1,000,000 buckets)")
        return self
