"""SLO section: the steady-state hypothesis a run is judged against.

Tolerances are checked over rolling evaluation windows (``window_s``), before the first trigger,
during triggers and after the last one ends (``sim.analysis.slo``); ``recovery_window_s`` is how
long the system may take to return to steady state once the last trigger is removed
(``sim.analysis.metastability``); the error budget is counted against ``budget_period_days``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.spec.common import StrictModel

BadOutcome = Literal[
    "timeout", "rejected", "rate_limited", "no_healthy_upstream", "server_error", "dependency_error",
    "network_error", "cancelled", "wrong_answer", "degraded",
]
"""Outcomes an error-rate tolerance may name: the closed failure set plus wrong and degraded answers."""

Share = Annotated[float, Field(ge=0, le=1)]


class SLOSpec(StrictModel):
    """Tolerances of the steady state: availability, latency percentiles and error rates per reason."""

    availability: float = Field(0.99, gt=0, le=1, description="Share of requests that must succeed.")
    p99_latency_s: float | None = Field(None, gt=0, description="Bound on the 99th percentile end-to-end latency.")
    p99_ttft_s: float | None = Field(None, gt=0, description="Bound on the 99th percentile time to first token.")
    max_error_rate: dict[BadOutcome, Share] = Field(
        default_factory=dict, description="Largest share of ended requests allowed per failure reason."
    )
    window_s: float = Field(60.0, gt=0, description="Rolling evaluation window of every tolerance.")
    min_requests: int = Field(
        10, ge=1, description="A window with fewer ended requests is not judged (too little data)."
    )
    recovery_window_s: float = Field(
        120.0, gt=0, description="Time allowed after the last trigger ends to return to steady state; not back "
        "by then (and never by the end of the run) is stuck (metastable). Illustration, not a standard."
    )
    budget_period_days: float = Field(30.0, gt=0, description="Period of the error budget (30-day SLO window).")
