"""SLO section: the steady-state hypothesis a run is judged against."""

from __future__ import annotations

from pydantic import Field

from sim.spec.common import StrictModel


class SLOSpec(StrictModel):
    """Tolerances of the steady state: availability and latency percentiles over the measured window."""

    availability: float = Field(0.99, gt=0, le=1, description="Share of requests that must succeed.")
    p99_latency_s: float | None = Field(None, gt=0, description="Bound on the 99th percentile end-to-end latency.")
    p99_ttft_s: float | None = Field(None, gt=0, description="Bound on the 99th percentile time to first token.")
