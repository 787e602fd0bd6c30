"""Workload section: client populations, their arrival processes, request sizes, timeouts, retries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.spec.common import DistributionSpec, LognormalSpec, Name, StrictModel
from sim.spec.policies import LbDnsSpec, RetrySpec, ThrottlingSpec


class RateStep(StrictModel):
    """From at_s on, the arrival rate is rate_rps (piecewise-constant schedule)."""

    at_s: float = Field(ge=0, description="When this rate starts.")
    rate_rps: float = Field(ge=0, description="Arrival rate from at_s on.")


def _distinct_steps(schedule: list[RateStep]) -> list[RateStep]:
    """Two steps at the same time would leave the rate to their order: an error, not 'the larger wins'."""
    first: dict[float, int] = {}
    for j, step in enumerate(schedule):
        if step.at_s in first:
            raise ValueError(f"steps [{first[step.at_s]}] and [{j}] both start at {step.at_s:g} s "
                             "(give one rate per time)")
        first[step.at_s] = j
    return schedule


class PoissonArrivals(StrictModel):
    """Open-loop Poisson arrivals; rate_rps until the first schedule step, then each step's rate."""

    kind: Literal["poisson"]
    rate_rps: float = Field(ge=0, description="Arrival rate before the first schedule step.")
    schedule: list[RateStep] = Field(default_factory=list, description="Rate changes over time (piecewise constant).")

    _steps = field_validator("schedule")(_distinct_steps)


class GammaArrivals(StrictModel):
    """Bursty arrivals: Gamma inter-arrival times with the given coefficient of variation (cv=1 is Poisson)."""

    kind: Literal["gamma"]
    rate_rps: float = Field(ge=0, description="Mean arrival rate before the first schedule step.")
    cv: float = Field(gt=0, description="Coefficient of variation of inter-arrival times.")
    schedule: list[RateStep] = Field(default_factory=list, description="Rate changes over time (piecewise constant).")

    _steps = field_validator("schedule")(_distinct_steps)


class TraceColumns(StrictModel):
    """Which columns of a CSV or JSONL trace hold what: the general mapping for any trace format."""

    time: str = Field(min_length=1, description="Column of the arrival time.")
    prompt_tokens: str = Field(min_length=1, description="Column of the prompt length in tokens.")
    output_tokens: str = Field(min_length=1, description="Column of the output length in tokens.")
    time_unit: Literal["s", "ms", "us", "datetime"] = Field(
        "s", description="Unit of numeric times, or datetime for date-time strings (2023-11-16 18:15:46.68)."
    )
    model: str | None = Field(None, description="Column of the model a request asked for.")
    session: str | None = Field(None, description="Column of the user or session id.")
    block_ids: str | None = Field(
        None, description="Column of the prompt's prefix block ids (a JSON list, or ids separated by spaces or ;)."
    )
    block_tokens: int = Field(512, ge=1, description="Tokens per prefix block.")
    failed_if_output_zero: bool = Field(False, description="A row with zero output tokens records a failed request.")


TRACE_FORMATS = ("azure", "mooncake", "burstgpt")
"""Built-in trace formats (their columns: docs/traces.md)."""


class TraceArrivals(StrictModel):
    """Replay of a request trace (CSV or JSONL): Azure, Mooncake, BurstGPT, or any mapped by columns.

    ``builtin:azure_conv``, ``builtin:azure_code`` and ``builtin:mooncake_conv`` are shipped traces.
    Inter-arrival times are multiplied by time_scale (0.5 replays twice as fast). By default the
    replay is the trace as recorded, the same in every replication; start_offset: random and
    resample: poisson add seeded variation (see randomness_sources).
    """

    kind: Literal["trace"]
    path: str = Field(
        "builtin:azure_conv", min_length=1,
        description="CSV file of the trace, or builtin:azure_conv (the shipped trace).",
    )
    format: Literal["azure", "mooncake", "burstgpt"] | None = Field(
        None, description="Built-in format; default: the shipped trace's, or guessed from the columns."
    )
    columns: TraceColumns | None = Field(None, description="General mapping for any other CSV or JSONL trace.")
    model: str | None = Field(None, description="Keep only the rows of this model (needs a model column).")
    from_s: float | None = Field(None, ge=0, description="Keep rows from this many seconds after the first request.")
    to_s: float | None = Field(None, gt=0, description="Keep rows before this many seconds after the first request.")
    failed_rows: Literal["skip", "fail"] = Field(
        "skip", description="Rows recording failed requests: skip them, or replay them as server errors."
    )
    time_scale: float = Field(1.0, gt=0, description="Multiplies inter-arrival times (0.5 replays twice as fast).")
    loop: bool = Field(False, description="Start the trace again when it ends.")
    use_trace_tokens: bool = Field(True, description="Take prompt/output tokens from the trace.")
    start_offset: float | Literal["random"] = Field(
        0.0, description="Start this many trace seconds in (wrapping around), or random: uniform, seeded per run."
    )
    resample: Literal["none", "poisson"] = Field(
        "none", description="poisson: redraw arrival times inside each window, keeping counts, order and tokens."
    )
    resample_window_s: float = Field(60.0, gt=0, description="Window (trace seconds) of Poisson resampling.")

    @model_validator(mode="after")
    def _consistent(self) -> TraceArrivals:
        if self.format is not None and self.columns is not None:
            raise ValueError("give either format or columns, not both")
        if self.from_s is not None and self.to_s is not None and self.to_s <= self.from_s:
            raise ValueError("to_s must be greater than from_s")
        if isinstance(self.start_offset, float) and self.start_offset < 0:
            raise ValueError("start_offset must be random or at least 0")
        return self

    def arrival_randomness(self) -> list[str]:
        """What varies between seeds in the arrival times (empty: every seed replays the same arrivals)."""
        sources = []
        if self.start_offset == "random":
            sources.append("trace start offset (uniform over the replay period)")
        if self.resample == "poisson":
            sources.append(f"arrival times within {self.resample_window_s:g} s windows (Poisson)")
        return sources

    def randomness_sources(self) -> list[str]:
        """What varies between seeds in this replay: the arrival times, and tokens when sampled."""
        return self.arrival_randomness() + ([] if self.use_trace_tokens else ["prompt and output tokens (sampled)"])


ArrivalSpec = Annotated[PoissonArrivals | GammaArrivals | TraceArrivals, Field(discriminator="kind")]


def _prompt_default() -> LognormalSpec:
    return LognormalSpec(kind="lognormal", mean=1155.0, cv=0.96)


def _output_default() -> LognormalSpec:
    return LognormalSpec(kind="lognormal", mean=211.0, cv=0.77)


class ClientSpec(StrictModel):
    """A client population sending requests to one or more load balancers.

    Token defaults are fitted to the shipped Azure conversation trace (mean and cv).
    """

    name: Name = Field(description="Unique component name.")
    target: list[Name] = Field(min_length=1, description="Load balancers this population may use.")
    zone: Name | None = Field(None, description="Zone of the clients; none means no network latency to the LB.")
    users: int = Field(1000, ge=1, description="Distinct users; each request belongs to one, uniformly.")
    arrival: ArrivalSpec = Field(description="When requests arrive: poisson, gamma (bursty) or a trace replay.")
    prompt_tokens: DistributionSpec = Field(
        default_factory=_prompt_default,
        description="Prompt length of a request, tokens (default fitted to the Azure conversation trace).",
    )
    output_tokens: DistributionSpec = Field(
        default_factory=_output_default,
        description="Output length of a request, tokens (default fitted to the Azure conversation trace).",
    )
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
        "random", description="random: uniformly over the health-checked DNS answer (lb_dns); by_user: a thin "
        "cell router sends each user to always the same target (cell), healthy or not."
    )
    lb_dns: LbDnsSpec | None = Field(None, description="Overrides policies.lb_dns.")

    model_mix: dict[str, float] | None = Field(
        None, description="Models of this population's requests and their weights (a trace's model column wins)."
    )

    @field_validator("model_mix")
    @classmethod
    def _mix(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        if mix is not None and (not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0):
            raise ValueError("model_mix needs at least one model and weights that are not negative, not all 0")
        return mix

    def randomness_sources(self) -> list[str]:
        """The seeded sources of variation in this population's requests (what a CI over seeds covers)."""
        arrival = self.arrival
        if arrival.kind == "trace":
            sources = arrival.randomness_sources()
        else:
            sources = [f"arrival times ({arrival.kind})", "prompt and output tokens (sampled)"]
        if self.model_mix is not None and len(self.model_mix) > 1:
            sources.append("model of each request (drawn from model_mix)")
        return sources + ["user of each request (uniform over users)"]


class WorkloadSpec(StrictModel):
    """All client populations."""

    clients: list[ClientSpec] = Field(min_length=1, description="Client populations; each sends its own requests.")

    def randomness_sources(self) -> list[str]:
        """Every client's sources of variation between seeds, as ``client: source`` lines."""
        return [f"{c.name}: {source}" for c in self.clients for source in c.randomness_sources()]
