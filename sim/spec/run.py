"""Run section: duration, warm-up, seed and metric resolution."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from sim.spec.common import StrictModel


class RunSpec(StrictModel):
    """How long to simulate and how finely to record."""

    duration_s: float = Field(600.0, gt=0, description="Simulated time.")
    warmup_s: float = Field(0.0, ge=0, description="Excluded from percentiles and the SLO verdict.")
    seed: int = Field(1, ge=0, description="Root seed of every random stream.")
    bucket_s: float = Field(1.0, gt=0, description="Width of a time-series bucket.")

    # Field validators (not one model validator) so that an error names the field: run.warmup_s.
    @field_validator("warmup_s")
    @classmethod
    def _warmup_inside(cls, warmup_s: float, info: ValidationInfo) -> float:
        duration_s = info.data.get("duration_s")
        if duration_s is not None and warmup_s >= duration_s:
            raise ValueError(f"must be shorter than duration_s ({duration_s:g} s)")
        return warmup_s

    @field_validator("bucket_s")
    @classmethod
    def _few_enough_buckets(cls, bucket_s: float, info: ValidationInfo) -> float:
        duration_s = info.data.get("duration_s")
        if duration_s is not None and duration_s / bucket_s > 1_000_000:
            raise ValueError("too small for duration_s (more than 1,000,000 buckets)")
        return bucket_s
