"""Workload section: client populations, their arrival processes, request sizes, timeouts, retries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.spec.common import DistributionSpec, LognormalSpec, Name, StrictModel
from sim.spec.policies import RetrySpec, ThrottlingSpec


class RateStep(StrictModel):
    """From at_s on, the arrival rate is rate_rps (piecewise-constant schedule)."""

    at_s: float = Field(ge=0)
    rate_rps: float = Field(ge=0)


class PoissonArrivals(StrictModel):
    """Open-loop Poisson arrivals; rate_rps until the first schedule step, then each step's rate."""

    kind: Literal["poisson"]
    rate_rps: float = Field(ge=0, description="Arrival rate before the first schedule step.")
    schedule: list[RateStep] = Field(default_factory=list)


class GammaArrivals(StrictModel):
    """Bursty arrivals: Gamma inter-arrival times with the given coefficient of variation (cv=1 is Poisson)."""

    kind: Literal["gamma"]
    rate_rps: float = Field(ge=0)
    cv: float = Field(gt=0, description="Coefficient of variation of inter-arrival times.")
    schedule: list[RateStep] = Field(default_factory=list)


class TraceArrivals(StrictModel):
    """Replay of a request trace CSV in the Azure LLM inference trace format.

    Columns TIMESTAMP, ContextTokens, GeneratedTokens. ``builtin:azure_conv`` is the shipped Azure
    conversation trace. Inter-arrival times are multiplied by time_scale (0.5 replays twice as fast).
    """

    kind: Literal["trace"]
    path: str = Field("builtin:azure_conv", min_length=1)
    time_scale: float = Field(1.0, gt=0)
    loop: bool = Field(False, description="Start the trace again when it ends.")
    use_trace_tokens: bool = Field(True, description="Take prompt/output tokens from the trace.")


ArrivalSpec = Annotated[PoissonArrivals | GammaArrivals | TraceArrivals, Field(discriminator="kind")]


def _prompt_default() -> LognormalSpec:
    return LognormalSpec(kind="lognormal", mean=1155.0, cv=0.96)


def _output_default() -> LognormalSpec:
    return LognormalSpec(kind="lognormal", mean=211.0, cv=0.77)


class ClientSpec(StrictModel):
    """A client population sending requests to one or more load balancers.

    Token defaults are fitted to the shipped Azure conversation trace (mean and cv).
    """

    name: Name
    target: list[Name] = Field(min_length=1, description="Load balancers this population may use.")
    zone: Name | None = Field(None, description="Zone of the clients; none means no network latency to the LB.")
    users: int = Field(1000, ge=1, description="Distinct users; each request belongs to one, uniformly.")
    arrival: ArrivalSpec
    prompt_tokens: DistributionSpec = Field(default_factory=_prompt_default)
    output_tokens: DistributionSpec = Field(default_factory=_output_default)
    timeout_s: float | None = Field(60.0, gt=0, description="Per-attempt timeout; null waits forever.")
    retry: RetrySpec | None = Field(None, description="Overrides policies.retry.")
    cancel_on_timeout: bool = Field(
        False, description="Cancel abandoned attempts at the server (default: the server keeps working)."
    )
    overall_timeout_s: float | None = Field(
        None, gt=0, description="Deadline of the whole request, retries included; null: none."
    )
    throttling: ThrottlingSpec | None = Field(None, description="Overrides policies.throttling.")
    client_class: Name | None = Field(None, description="Class for rate limiting (default: the client's name).")
    priority: int = Field(0, ge=0, description="Admission priority (higher is served first, e.g. paid 1, free 0).")
    lb_selection: Literal["random", "by_user"] = Field(
        "random", description="by_user: a thin cell router sends each user to always the same target (cell)."
    )


class WorkloadSpec(StrictModel):
    """All client populations."""

    clients: list[ClientSpec] = Field(min_length=1)
