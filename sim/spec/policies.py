"""Policies section: scenario-wide defaults for the resilience policies components hold.

A component's own field (e.g. a load balancer's ``balancing``) overrides the default here, so a
design comparison can change one policy in one place. Names and defaults follow the production
systems practitioners know (Envoy, Kubernetes); each default's source is in its description.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.spec.common import StrictModel

BALANCING_KINDS = ("round_robin", "random", "least_outstanding", "power_of_two")
JITTER_KINDS = ("none", "full")


class BalancingSpec(StrictModel):
    """How a load balancer picks a replica (Envoy names; default round robin, as Envoy's)."""

    kind: Literal["round_robin", "random", "least_outstanding", "power_of_two"] = "round_robin"
    choice_count: int = Field(2, ge=2, description="Candidates sampled by power_of_two (Envoy choice_count 2).")


class HealthCheckSpec(StrictModel):
    """Active health checks; defaults are Kubernetes probe defaults."""

    enabled: bool = True
    period_s: float = Field(10.0, gt=0, description="Probe interval (Kubernetes periodSeconds 10).")
    timeout_s: float = Field(1.0, gt=0, description="Probe timeout (Kubernetes timeoutSeconds 1).")
    failure_threshold: int = Field(3, ge=1, description="Failures to mark down (Kubernetes 3).")
    success_threshold: int = Field(1, ge=1, description="Successes to mark up (Kubernetes 1).")


class RetrySpec(StrictModel):
    """Client retries with capped exponential backoff: wait = min(cap, base * multiplier**(n-1))."""

    max_attempts: int = Field(3, ge=1, description="Attempts in total, the first included (1 = no retry).")
    backoff_base_s: float = Field(0.1, ge=0, description="First backoff.")
    backoff_cap_s: float = Field(10.0, ge=0, description="Longest backoff.")
    multiplier: float = Field(2.0, ge=1, description="Growth per attempt.")
    jitter: Literal["none", "full"] = Field("full", description="full: uniform in [0, wait] (AWS 'full jitter').")

    @model_validator(mode="after")
    def _cap_above_base(self) -> RetrySpec:
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be at least backoff_base_s")
        return self


class PoliciesSpec(StrictModel):
    """Defaults applied to every component that does not set its own."""

    retry: RetrySpec = Field(default_factory=RetrySpec)
    balancing: BalancingSpec = Field(default_factory=BalancingSpec)
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec)
