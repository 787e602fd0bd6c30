"""Run section: duration, warm-up, seed, metric resolution and an optional wall-clock anchor."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator

from sim.spec.bounds import YEAR_S, fmt_number
from sim.spec.common import StrictModel

MAX_DURATION_S = YEAR_S
"""A year of simulated time (the bound of every _s field)."""

MAX_BUCKETS = 100_000
"""Time-series buckets of one run: about 300 MB of metrics (a million ran out of memory)."""


class RunSpec(StrictModel):
    """How long to simulate and how finely to record."""

    duration_s: float = Field(600.0, gt=0, description="Simulated time.")
    warmup_s: float = Field(0.0, ge=0, description="Excluded from percentiles and the SLO verdict.")
    seed: int = Field(1, ge=0, description="Root seed of every random stream.")
    bucket_s: float = Field(1.0, gt=0, description="Width of a time-series bucket.")
    start_at: datetime | None = Field(
        None, description="Wall-clock time of simulated second 0, ISO 8601 with a time zone "
        "(2024-08-16T05:30:00-07:00 or ...Z): the report then reads clock times. Only a label: it changes no result."
    )
    time_zone: str | None = Field(
        None, description="IANA zone the clock times are shown in (America/Los_Angeles shows 05:42 PT); "
        "default: start_at's own offset."
    )

    @field_validator("start_at", mode="before")
    @classmethod
    def _iso_with_zone(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"'{value}' is not an ISO 8601 date and time (e.g. 2024-08-16T05:30:00-07:00)") \
                    from None
        elif isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError("needs a time of day and a time zone (e.g. 2024-08-16T05:30:00-07:00)")
        if not isinstance(value, datetime):
            raise ValueError("must be an ISO 8601 date and time with a time zone (e.g. 2024-08-16T05:30:00-07:00)")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no time zone: add an offset such as -07:00, or Z for UTC")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str | None, info: ValidationInfo) -> str | None:
        if zone is None:
            return None
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{zone}' (an IANA name such as America/Los_Angeles)") from None
        if info.data.get("start_at") is None and "start_at" not in info.data:
            return zone  # start_at itself was invalid: that error is reported
        if info.data.get("start_at") is None:
            raise ValueError("needs run.start_at (the clock it shows)")
        return zone

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
        if duration_s is not None and duration_s > MAX_DURATION_S:
            return bucket_s  # the duration's own bound names the problem (sim.spec.bounds)
        if duration_s is not None and duration_s / bucket_s > MAX_BUCKETS:
            raise ValueError(f"too small for duration_s: {fmt_number(duration_s / bucket_s)} buckets, more than "
                             f"{MAX_BUCKETS:,} (each holds latency histograms: about 3 KB)")
        return bucket_s
