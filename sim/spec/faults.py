"""Faults section: what breaks, where, and when.

A fault changes one thing on its targets for its window; everything that follows must come from the
simulator's mechanisms. Targets are selected as chaos tools select them: by name, pool, zone or
label, then narrowed to a count or a percentage (chosen with the run's seeded streams).

Every fault is one model per ``kind`` (a discriminated union). Schedules shared by all kinds:

- ``at_s`` + ``duration_s``: one window (``duration_s`` null: to the end of the run);
- ``ramp_s`` (kinds with an intensity): the effect grows linearly from nothing to full over ramp_s;
- ``recurring: {every_s, count}``: the window repeats ``count`` times, one every ``every_s``;
- ``stochastic: {mtbf_s, mttr_s, distribution, shape}``: from ``at_s`` to the end of the window, each
  target fails independently after a time to failure (exponential, or Weibull with ``shape``) of mean
  ``mtbf_s`` and is repaired after a time to repair of mean ``mttr_s`` (what availability studies need).

Defaults that are illustrations rather than measurements say so in their descriptions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from sim.spec.common import Name, StrictModel


def fault_doc(family: str, left_to_mechanisms: str) -> ConfigDict:
    """A fault kind's place in the reference (its JSON schema and docs/reference/faults.md): its family, and
    what it does not script but leaves to the simulator's mechanisms."""
    return ConfigDict(json_schema_extra={"family": family, "left_to_mechanisms": left_to_mechanisms})


class TargetSpec(StrictModel):
    """Which components a fault hits: every filter given must match; then count / percent narrow it."""

    name: Name | None = Field(None, description="A component name (a replica is <pool>-<index>).")
    pool: Name | None = Field(None, description="Every replica of this pool.")
    zone: Name | None = Field(None, description="Components in this zone.")
    labels: dict[str, str] | None = Field(None, description="Replicas whose pool has every one of these labels.")
    count: int | None = Field(None, ge=1, description="Pick this many of the matches at random.")
    percent: float | None = Field(None, gt=0, le=100, description="Pick this share of the matches (rounded up).")
    all: bool = Field(False, description="Every component the fault kind can act on (alone, or with filters: "
                                         "every match, said explicitly).")

    @field_validator("labels")
    @classmethod
    def _some_labels(cls, labels: dict[str, str] | None) -> dict[str, str] | None:
        if labels is not None and not labels:
            raise ValueError("empty: give at least one label to match (or all: true for every component)")
        return labels

    @model_validator(mode="after")
    def _one_narrowing(self) -> TargetSpec:
        if self.count is not None and self.percent is not None:
            raise ValueError("give count or percent, not both")
        if self.all and (self.count is not None or self.percent is not None):
            raise ValueError("all takes every match: give all, or count / percent, not both")
        if not self.all and self.name is None and self.pool is None and self.zone is None and self.labels is None:
            raise ValueError("give at least one of name, pool, zone, labels (or all: true)")
        return self


class RecurringSpec(StrictModel):
    """The fault window repeats: ``count`` windows, one starting every ``every_s``."""

    every_s: float = Field(gt=0, description="Time between the starts of two windows.")
    count: int = Field(ge=1, description="Number of windows.")


class StochasticSpec(StrictModel):
    """Random failures per target: alternate up (time to failure) and failed (time to repair)."""

    mtbf_s: float = Field(gt=0, description="Mean time between failures (mean time to failure), per target.")
    mttr_s: float = Field(gt=0, description="Mean time to repair, per target.")
    distribution: Literal["exponential", "weibull"] = Field(
        "exponential", description="Time-to-failure distribution (Weibull scale is set so its mean is mtbf_s)."
    )
    shape: float | None = Field(None, gt=0, validate_default=True,
                                description="Weibull shape k (k > 1: wear-out, k < 1: infant mortality).")
    repair_distribution: Literal["exponential", "deterministic"] = Field(
        "exponential", description="Time-to-repair distribution (deterministic: always mttr_s)."
    )

    @field_validator("shape")
    @classmethod
    def _shape_for_weibull(cls, shape: float | None, info: ValidationInfo) -> float | None:
        distribution = info.data.get("distribution")
        if distribution == "weibull" and shape is None:
            raise ValueError("required for the weibull distribution")
        if distribution == "exponential" and shape is not None:
            raise ValueError("applies to the weibull distribution only")
        return shape


class FaultBase(StrictModel):
    """Fields every fault has: an id, a window and its schedule options (targets are per family)."""

    id: Name = Field(
        description="Unique fault id: the cause named by every transition the fault makes (a cascade root)."
    )
    at_s: float = Field(ge=0, description="When the fault (or its first window) starts.")
    duration_s: float | None = Field(
        None, gt=0, description="How long it lasts; null: until a response action ends it, else to the end of the run.")
    recurring: RecurringSpec | None = Field(None, description="Repeat the window; null: once.")
    stochastic: StochasticSpec | None = Field(
        None, description="Random failures and repairs per target inside the window; null: a fixed window."
    )

    # Field validators (not model validators) so that an error names its field: faults[i].recurring.
    @field_validator("recurring")
    @classmethod
    def _recurring_windows(cls, recurring: RecurringSpec | None, info: ValidationInfo) -> RecurringSpec | None:
        if recurring is not None and "duration_s" in info.data:
            duration_s = info.data["duration_s"]
            if duration_s is None:
                raise ValueError("a recurring fault needs duration_s")
            if recurring.every_s <= duration_s:
                raise ValueError(f"every_s must be longer than duration_s ({duration_s:g} s): windows would overlap")
        return recurring

    @field_validator("stochastic")
    @classmethod
    def _one_schedule(cls, stochastic: StochasticSpec | None, info: ValidationInfo) -> StochasticSpec | None:
        if stochastic is not None and info.data.get("recurring") is not None:
            raise ValueError("give recurring or stochastic, not both")
        return stochastic


class TargetedFault(FaultBase):
    """A fault acting on components picked by a target selector."""

    target: TargetSpec = Field(description="Which components the fault acts on.")


class RampMixin(StrictModel):
    """Kinds with an intensity may reach it gradually."""

    ramp_s: float = Field(0.0, ge=0, description="Grow the effect linearly from none to full over this time.")


# --- overload ---------------------------------------------------------------------------------------
class SurgePoint(StrictModel):
    """One point of a surge profile: at this offset from the fault start, this multiplier (linear between)."""

    at_s: float = Field(ge=0, description="Offset from the start of the fault window.")
    multiplier: float = Field(ge=0, description="Arrival-rate multiplier at this offset.")


class SurgeFault(TargetedFault):
    """Traffic surge: the targeted clients' arrival rate is multiplied (ramp up, hold, decay).

    Launch day: ``multiplier: 3, ramp_s: 600``. A ``profile`` (piecewise linear) replaces the
    multiplier / ramp / decay shorthand. Trace clients replay each trace arrival floor(m) times plus
    once more with probability frac(m) (and skip it with probability 1 - m when m < 1).
    """

    model_config = fault_doc("overload", "queueing, timeouts, retries, overload states, recovery after the decay")

    kind: Literal["surge"]
    multiplier: float = Field(3.0, ge=0, description="Arrival-rate multiplier at full surge.")
    ramp_s: float = Field(0.0, ge=0, description="Time to go linearly from 1x to the multiplier.")
    decay_s: float = Field(0.0, ge=0, description="Time to go back to 1x at the end of the window.")
    profile: list[SurgePoint] | None = Field(None, min_length=1, description="Piecewise-linear multiplier profile.")

    @field_validator("decay_s")
    @classmethod
    def _fits(cls, decay_s: float, info: ValidationInfo) -> float:
        if "duration_s" not in info.data:
            return decay_s
        duration_s = info.data["duration_s"]
        if decay_s > 0 and duration_s is None:
            raise ValueError("needs duration_s (the decay ends the window)")
        if duration_s is not None and info.data.get("ramp_s", 0.0) + decay_s > duration_s:
            raise ValueError(f"ramp_s + decay_s must fit in duration_s ({duration_s:g} s)")
        return decay_s

    @field_validator("profile")
    @classmethod
    def _in_order(cls, profile: list[SurgePoint] | None) -> list[SurgePoint] | None:
        if profile is not None:
            offsets = [p.at_s for p in profile]
            if offsets != sorted(offsets):
                raise ValueError("points must be in time order")
        return profile


class BotTrafficFault(TargetedFault):
    """Abusive or bot clients alongside the targeted population, using its load balancers and zone.

    They send ``rate_rps`` (Poisson) and retry every failure immediately (no backoff, no jitter) up
    to ``max_attempts``. Their requests count in the run's totals like any other request.

    The bots are a population named ``<client>-bots-<fault id>``.
    """

    model_config = fault_doc("overload", "retry storms, load on the shared pool")

    kind: Literal["bot_traffic"]
    rate_rps: float = Field(50.0, gt=0, description="Bot request rate.")
    max_attempts: int = Field(10, ge=1, description="Attempts per bot request, retried at once.")
    timeout_s: float = Field(10.0, gt=0, description="Per-attempt timeout of the bots.")


# --- crash and GPU ----------------------------------------------------------------------------------
class CrashFault(TargetedFault):
    """Process crash of the targeted servers; with restart, they restart after restart_delay_s and a cold start.

    In-flight work is lost (``server_error``) and the replica is down; with restart it is ``starting`` after
    the delay and ``healthy`` after the pool's ``model_load_s`` (an instant fault); without, it stays down
    until the window ends. A replica another fault holds down (zone outage, lost GPU...) restarts only once
    none does.
    """

    model_config = fault_doc("crash", "load shifted to survivors, their overload, health-check ejection, retries")

    kind: Literal["crash"]
    restart: bool = Field(True, description="Restart automatically (delay, then model load).")
    restart_delay_s: float = Field(10.0, ge=0, description="Time before the restart begins.")


class ReplicaLossFault(TargetedFault):
    """Hardware loss that takes the whole replica down until it is replaced (then a cold start)."""

    replace_s: float | None = Field(
        None, gt=0, description="Time to replace the hardware; null: down until the window ends."
    )


class GPULostFault(ReplicaLossFault):
    """A GPU falls off the bus: the replica is down until the GPU (node) is replaced, then cold-starts."""

    model_config = fault_doc(
        "gpu",
        "as crash: load shifted to survivors, their overload, health-check ejection, retries"
    )

    kind: Literal["gpu_lost"]


class ECCErrorFault(ReplicaLossFault):
    """Uncorrectable ECC error: the process dies and the GPU must be replaced before the replica serves.

    Down until the GPU is replaced (``replace_s``), then a cold start.
    """

    model_config = fault_doc(
        "gpu",
        "as crash: load shifted to survivors, their overload, health-check ejection, retries"
    )

    kind: Literal["ecc_error"]


class TPLinkFailureFault(ReplicaLossFault):
    """A failed NVLink / interconnect in a tensor-parallel group: every shard stops, the whole replica is down.

    Down until repaired (``replace_s``), then a cold start.
    """

    model_config = fault_doc(
        "gpu",
        "as crash: load shifted to survivors, their overload, health-check ejection, retries"
    )

    kind: Literal["tp_link_failure"]


class ThermalThrottleFault(TargetedFault, RampMixin):
    """Thermal throttling: every iteration (or service time) takes ``slow_factor`` times longer."""

    model_config = fault_doc("gpu", "longer batches, queues, timeouts")

    kind: Literal["thermal_throttle"]
    slow_factor: float = Field(1.5, ge=1, description="Iteration-time multiplier (illustration: clocks down a third).")


class KVCacheExhaustionFault(TargetedFault):
    """KV-cache blocks leak or fragment: only ``kv_cache_fraction`` of the KV cache stays usable (LLM pools)."""

    model_config = fault_doc("gpu", "fewer admissions, preemptions and recompute, queueing")

    kind: Literal["kv_cache_exhaustion"]
    kv_cache_fraction: float = Field(0.25, gt=0, lt=1, description="Share of the KV cache still usable.")


# --- software bugs -----------------------------------------------------------------------------------
# The parameters of a software bug, shared by the fault of that kind and by the bug a bad build or
# config carries (``bug:`` of bad_deploy and config_push), so both validate the same way.
class ErrorRateParams(StrictModel):
    error_percent: float = Field(10.0, gt=0, le=100, description="Share of requests answered with an error.")


class LatencyParams(StrictModel):
    slow_factor: float = Field(3.0, ge=1, description="Service-time multiplier.")


class WrongAnswerParams(StrictModel):
    wrong_percent: float = Field(5.0, gt=0, le=100, description="Share of served answers that are wrong.")


class LeakParams(StrictModel):
    memory_limit_mb: float = Field(16_384.0, gt=0, description="Container memory limit.")
    baseline_mb: float = Field(8_192.0, ge=0, description="Memory in use after a (re)start.")
    per_request_mb: float = Field(0.0, ge=0, description="Memory held by each request in flight.")
    leak_mb_per_request: float = Field(1.0, ge=0, description="Memory leaked by each request handled.")
    leak_mb_per_s: float = Field(0.0, ge=0, validate_default=True,
                                 description="Memory leaked per second regardless of load.")
    restart_delay_s: float = Field(10.0, ge=0, description="Restart delay after an OOM kill (Kubernetes backoff 10 s).")

    @field_validator("baseline_mb")
    @classmethod
    def _below_limit(cls, baseline_mb: float, info: ValidationInfo) -> float:
        limit = info.data.get("memory_limit_mb")
        if limit is not None and baseline_mb >= limit:
            raise ValueError(f"must be below memory_limit_mb ({limit:g})")
        return baseline_mb

    @field_validator("leak_mb_per_s")
    @classmethod
    def _leaks(cls, leak_mb_per_s: float, info: ValidationInfo) -> float:
        if leak_mb_per_s == 0 and info.data.get("leak_mb_per_request") == 0:
            raise ValueError("give leak_mb_per_request or leak_mb_per_s above 0 (this leak never grows)")
        return leak_mb_per_s


class ErrorRateFault(TargetedFault, RampMixin, ErrorRateParams):
    """A bug makes a share of served requests fail with a server error."""

    model_config = fault_doc("software", "retries, outlier ejection, breaker trips")

    kind: Literal["error_rate"]


class LatencyInflationFault(TargetedFault, RampMixin, LatencyParams):
    """A bug makes every request slower: service / iteration time times ``slow_factor``."""

    model_config = fault_doc("software", "queueing, timeouts, retries")

    kind: Literal["latency_inflation"]


class HangFault(TargetedFault):
    """The process hangs: it never answers (only client timeouts end requests) and fails readiness probes.

    The process computes but never answers and its readiness probes fail; at the end, the attempts it held
    are answered ``server_error``.
    """

    model_config = fault_doc("software", "only client timeouts end requests; health checks eject it")

    kind: Literal["hang"]


class PoisonRequestFault(TargetedFault):
    """A class of requests crashes whichever targeted server receives one; retries carry it to the next.

    While the fault is active, each new request of every client whose load balancers route to a targeted
    server is poison with probability ``poison_percent`` / 100. The targets are the servers running the
    vulnerable build.
    """

    model_config = fault_doc(
        "software",
        "the crash of whichever vulnerable server receives one (mechanism `poison_request`, "
        "parent: that server's mark), and retries carrying it to the next server"
    )

    kind: Literal["poison_request"]
    poison_percent: float = Field(0.1, gt=0, le=100, description="Share of new requests that are poison.")
    restart_delay_s: float = Field(10.0, ge=0, description="Restart delay after each crash (then model load).")


class MemoryLeakFault(TargetedFault, LeakParams):
    """A leak: memory grows per request served and per second until the server is killed for OOM.

    Memory in use = baseline + leaked + per-request memory of the work in flight; above the limit the
    server is OOM-killed (in-flight work lost) and restarts after restart_delay_s and a cold start,
    with the leak starting again from zero. Memory figures are illustrations, not measurements.

    The end stops the growth; memory already leaked stays until a restart.
    """

    model_config = fault_doc(
        "software",
        "the OOM kill when memory passes the limit (mechanism `oom`, parent: the leak's mark), the "
        "restart (memory back to baseline), the crash loop, load shifting to the others"
    )

    kind: Literal["memory_leak"]


class WrongAnswerFault(TargetedFault, RampMixin, WrongAnswerParams):
    """Silent corruption: a share of served answers are wrong (``wrong_answer``), invisible to health checks.

    A wrong answer is served, not a success: outcome ``wrong_answer``.
    """

    model_config = fault_doc("software", "nothing else: health checks and breakers see a success")

    kind: Literal["wrong_answer"]


# --- network ----------------------------------------------------------------------------------------
class ZoneLinkFault(FaultBase):
    """A network impairment on zone links: one zone (every hop touching it) or a pair (hops between them)."""

    zones: list[Name] = Field(min_length=1, max_length=2, description="[a]: every link of a; [a, b]: the a-b link.")


class NetworkLatencyFault(ZoneLinkFault, RampMixin):
    """Added one-way latency on every hop over the impaired links.

    ``zones: [a]`` impairs every link of a, inside a too; ``[a, b]`` the link between a and b. The latency is
    paid again on the way back.
    """

    model_config = fault_doc("network", "timeouts, retries, probe timeouts")

    kind: Literal["network_latency"]
    added_latency_ms: float = Field(50.0, gt=0, description="Added one-way latency per hop.")


class PacketLossFault(ZoneLinkFault, RampMixin):
    """Packet loss, as TCP sees it: retransmission delay, and connection failure past a threshold.

    Per hop, the number of lost transmissions k is geometric in ``loss_percent``; each costs a
    retransmission timeout that doubles (rto_s, 2 rto_s, ...). When k exceeds ``max_retransmits``, or
    the loss reaches ``fail_percent``, the connection fails (``network_error``).

    The delay of a hop with k losses is ``rto_s`` x (2^k - 1).
    """

    model_config = fault_doc("network", "timeouts, retries, ejections")

    kind: Literal["packet_loss"]
    loss_percent: float = Field(5.0, gt=0, le=100, description="Share of packets lost.")
    rto_s: float = Field(0.2, gt=0, description="First retransmission timeout (Linux TCP_RTO_MIN 200 ms).")
    max_retransmits: int = Field(5, ge=0, description="Retransmissions before the connection gives up.")
    fail_percent: float = Field(50.0, gt=0, le=100, description="Loss at or above which every connection fails.")


class PartitionFault(FaultBase):
    """Two sides cannot talk: two zones, or two components that call each other directly.

    Component pairs apply where the two talk directly: client and load balancer, load balancer and
    server, server and its database or cache, cache and its database.

    Hops between the two sides fail (``network_error``); a server whose database is cut off answers
    ``dependency_error``.
    """

    model_config = fault_doc("network", "failover, retries to the other side")

    kind: Literal["partition"]
    between: tuple[Name, Name] = Field(strict=False, description="Two zones, or two component names.")

    @field_validator("between")
    @classmethod
    def _two_sides(cls, between: tuple[str, str]) -> tuple[str, str]:
        if between[0] == between[1]:
            raise ValueError("needs two different sides")
        return between


class DNSFailureFault(TargetedFault):
    """DNS / service discovery stops answering; clients use cached records until their TTL expires.

    Discovery is down.
    """

    model_config = fault_doc(
        "network",
        "clients keep their cached record until its TTL expires; only then do requests fail "
        "(`network_error`)"
    )

    kind: Literal["dns_failure"]


class DNSCacheCutFault(TargetedFault):
    """The DNS cache clients resolve through is cut off: every lookup waits out ``lookup_timeout_s``,
    then the fallback resolver answers (card 7). Lookups still succeed, late.
    """

    model_config = fault_doc(
        "network",
        "attempts waiting for the slow lookup (one per client population at a time), then cached for the "
        "discovery TTL; client timeouts and cancellations while they wait"
    )

    kind: Literal["dns_cache_cut"]
    lookup_timeout_s: float = Field(30.0, gt=0, description="How long a lookup waits for the cut-off cache before "
                                    "falling back (card 7: 30 s).")


# --- maintenance and change ------------------------------------------------------------------------------
class ErrorBug(ErrorRateParams):
    """The bad build answers a share of requests with errors."""

    kind: Literal["error_rate"]
    error_percent: float = Field(20.0, gt=0, le=100, description="Share of requests answered with an error.")


class LatencyBug(LatencyParams):
    """The bad build is slower."""

    kind: Literal["latency_inflation"]


class HangBug(StrictModel):
    """The bad build hangs."""

    kind: Literal["hang"]


class WrongAnswerBug(WrongAnswerParams):
    """The bad build silently answers wrong."""

    kind: Literal["wrong_answer"]


class LeakBug(LeakParams):
    """The bad build leaks memory (the memory_leak fault's fields, defaults and checks)."""

    kind: Literal["memory_leak"]


class CrashLoopBug(StrictModel):
    """The bad build (or config) crashes as soon as it is loaded; Kubernetes restarts it after restart_delay_s."""

    kind: Literal["crash_loop"]
    restart_delay_s: float = Field(10.0, ge=0, description="Delay before each restart (Kubernetes backoff 10 s).")


BugSpec = Annotated[
    ErrorBug | LatencyBug | HangBug | WrongAnswerBug | LeakBug | CrashLoopBug, Field(discriminator="kind")
]


class BadDeployFault(TargetedFault):
    """A rolling deploy of a bad build over the targets (Kubernetes RollingUpdate semantics, simplified).

    Batches of ``max_unavailable`` servers restart (restart_delay_s, then model load) into the new
    build; ``max_surge`` more per batch switch without downtime (the extra replica warms up first).
    The next batch starts ``batch_interval_s`` after the previous one is serving. The new build
    carries ``bug``; the window's end removes the bug (rollback) without restarting.

    Servers are replaced in target order; in-flight work on a replaced server is lost. A batch that never
    becomes ready stalls the rollout.
    """

    model_config = fault_doc("maintenance", "everything the bug then causes")

    kind: Literal["bad_deploy"]
    bug: BugSpec = Field(description="What is wrong with the new build.")
    max_unavailable: int = Field(1, ge=0, description="Replicas down at once (Kubernetes maxUnavailable).")
    max_surge: int = Field(0, ge=0, validate_default=True,
                           description="Replicas switched with no downtime per batch (maxSurge).")
    batch_interval_s: float = Field(60.0, ge=0, description="Pause between a batch being ready and the next.")
    restart_delay_s: float = Field(5.0, ge=0, description="Time to stop the old process before the new one loads.")

    @field_validator("max_surge")
    @classmethod
    def _progress(cls, max_surge: int, info: ValidationInfo) -> int:
        if max_surge == 0 and info.data.get("max_unavailable") == 0:
            raise ValueError("max_unavailable and max_surge cannot both be 0 (the rollout could not progress)")
        return max_surge


class DrainFault(TargetedFault):
    """Maintenance drains the targets at once: they fail readiness, finish their work and stop until the end.

    The targets go ``draining``, then ``down`` (mechanism ``drain``) once their work is done; at the end they
    restart (cold start).
    """

    model_config = fault_doc("maintenance", "ejection by health checks, survivors' overload")

    kind: Literal["drain"]


class ConfigPushFault(TargetedFault):
    """A bad config replicated to the targets one after another over ``propagation_s`` (0: everywhere at once).

    The config reaches the targets in a random (seeded) order, evenly spread over ``propagation_s``.
    """

    model_config = fault_doc(
        "maintenance",
        "everything the bug causes (a `crash_loop` bug: every restart crashes again until the "
        "window ends)"
    )

    kind: Literal["config_push"]
    bug: BugSpec = Field(description="What the bad config does to a server that loads it.")
    propagation_s: float = Field(10.0, ge=0, description="Time for the config to reach every target.")


class OSUpdateFault(TargetedFault):
    """An OS update cuts networking on the targets; only re-imaging (at a limited rate) brings a node back.

    Networking is cut on every target at once (down, in-flight work lost): an instant fault.
    """

    model_config = fault_doc(
        "maintenance",
        "recovery only by re-imaging, one node every 3600 / `reimage_per_hour` s after "
        "`reimage_after_s`, then a cold start"
    )

    kind: Literal["os_update"]
    reimage_after_s: float = Field(600.0, ge=0, description="Time before re-imaging begins (diagnosis).")
    reimage_per_hour: float | None = Field(
        20.0, gt=0, description="Nodes re-imaged per hour, one after another; null: nodes stay cut off until "
                                "operators re-image them (a response action of kind reimage).")


class FleetChangeFault(TargetedFault):
    """A fleet-wide change makes every targeted node call the control plane more.

    Added load: ``ops_per_node_s`` x n (``cost: linear``) or x n x N (``quadratic``: every node's
    work grows with the cluster size, as in incident 8), n the targeted nodes and N the nodes of the
    fleet that are up, both followed as the fleet grows or shrinks (the targeted share stays fixed).
    The failed calls' retries add to it (the control plane's ``retry``).
    """

    model_config = fault_doc(
        "maintenance",
        "the control plane's queue filling and calls timing out, their retries, discovery failing one "
        "record TTL later, the data-plane cliff, the queue draining once the load falls"
    )

    kind: Literal["fleet_change"]
    ops_per_node_s: float = Field(1.0, gt=0, description="Control-plane operations per node per second.")
    cost: Literal["linear", "quadratic"] = Field("quadratic", description="How the added load grows with N.")


# --- dependencies ------------------------------------------------------------------------------------
class DatabaseSlowFault(TargetedFault, RampMixin):
    """Every query takes ``slow_factor`` times longer (holding its connection longer)."""

    model_config = fault_doc("dependency", "connection-pool saturation, `dependency_error`s after `connect_timeout_s`")

    kind: Literal["database_slow"]
    slow_factor: float = Field(5.0, ge=1, description="Query-time multiplier.")


class DatabaseDownFault(TargetedFault):
    """The database refuses connections: callers fail after their connect timeout."""

    model_config = fault_doc("dependency", "retries, errors upstream")

    kind: Literal["database_down"]


class DatabaseFailoverFault(TargetedFault):
    """The primary dies for good: connections fail until a standby is promoted, which only the database's
    ``replica`` (detection and promotion, a mechanism) does; without one the database stays down.

    An instant fault.
    """

    model_config = fault_doc(
        "dependency",
        "recovery only by a standby: `databases[].replica` detects and promotes it (mechanism "
        "`replica_promotion`); without one the database stays down"
    )

    kind: Literal["database_failover"]


class ConnectionSurgeFault(TargetedFault):
    """The connection-pooling service drops every connection it holds to the database and opens them again at
    once (a pooler restart or reconfiguration): the one thing it changes is the open connections.

    An instant fault. Needs ``databases[].connections`` (connections that cost the database work to open).
    """

    model_config = fault_doc(
        "dependency",
        "the reconnect burst on the database's connection setup, callers' connect timeouts and retries "
        "(without backoff, a burst that sustains itself), queries failing for want of a connection"
    )

    kind: Literal["connection_surge"]


class CacheFlushFault(TargetedFault):
    """The cache loses every entry at once (cold cache): the following requests miss and hit the database.

    An instant fault.
    """

    model_config = fault_doc("dependency", "misses sent to the database, its overload, the refill")

    kind: Literal["cache_flush"]


class CacheDownFault(TargetedFault):
    """Cache shards fail: every lookup misses and goes to the database, and nothing is filled.

    Nothing is cached until the end.
    """

    model_config = fault_doc("dependency", "database load")

    kind: Literal["cache_down"]


class ControlPlaneOverloadFault(TargetedFault):
    """Extra load on the control plane (its load times ``load_multiplier``) while the fault lasts."""

    model_config = fault_doc(
        "dependency",
        "the control plane's queue filling and calls timing out, their retries, discovery serving cached "
        "records for `record_ttl_s` and then failing, the queue draining once the load falls"
    )

    kind: Literal["control_plane_overload"]
    load_multiplier: float = Field(5.0, gt=1, description="Multiplier of the control plane's load.")


class ControlPlaneCapacityLossFault(TargetedFault):
    """Some of the control plane's API servers die (out of memory, say): its capacity falls to
    ``100 - capacity_percent`` % for the window. Whether that overloads it is its queue's call."""

    model_config = fault_doc(
        "dependency",
        "the control plane's queue filling if the load exceeds what is left, calls timing out, their "
        "retries, in-cluster DNS failing one record TTL later, the queue draining once capacity is back"
    )

    kind: Literal["control_plane_capacity_loss"]
    capacity_percent: float = Field(100.0, gt=0, le=100, description="Share of the capacity lost (%).")


# --- correlated --------------------------------------------------------------------------------------
class ZoneOutageFault(FaultBase):
    """Everything in a zone is down for the window (servers, load balancers, databases, caches).

    Servers crash without restart, load balancers are unreachable (``network_error``), databases and caches
    are unavailable and emptied. All come back at the end (servers cold-start) unless another fault still
    holds a component down.
    """

    model_config = fault_doc("correlated", "failover to other zones, survivors' overload")

    kind: Literal["zone_outage"]
    zone: Name = Field(description="The zone that goes down.")


class CleanupJobFault(TargetedFault):
    """A cleanup job deletes the targets (any kind, in several places at once); they come back when recreated.

    The targets are deleted at once, as in a zone outage, and recreated after ``recreate_s`` (an instant
    fault) or at the window's end.
    """

    model_config = fault_doc("correlated", "as zone outage: failover to other zones, survivors' overload")

    kind: Literal["cleanup_job"]
    recreate_s: float | None = Field(None, gt=0, description="Time to recreate a deleted resource; null: window end.")


class UnknownFault(StrictModel):
    """Stands for a fault whose kind is not known, so the error names ``kind`` with the known kinds."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: str

    @field_validator("kind")
    @classmethod
    def _unknown(cls, value: str) -> str:
        raise ValueError(f"unknown fault kind '{value}' (known: {', '.join(sorted(FAULT_MODELS))})")


FAULT_MODELS: dict[str, type[FaultBase]] = {
    model.model_fields["kind"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        SurgeFault, BotTrafficFault, CrashFault, GPULostFault, ECCErrorFault, TPLinkFailureFault,
        ThermalThrottleFault, KVCacheExhaustionFault, ErrorRateFault, LatencyInflationFault, HangFault,
        PoisonRequestFault, MemoryLeakFault, WrongAnswerFault, NetworkLatencyFault, PacketLossFault,
        PartitionFault, DNSFailureFault, DNSCacheCutFault, BadDeployFault, DrainFault, ConfigPushFault,
        OSUpdateFault,
        FleetChangeFault, DatabaseSlowFault, DatabaseDownFault, DatabaseFailoverFault, ConnectionSurgeFault,
        CacheFlushFault, CacheDownFault, ControlPlaneOverloadFault, ControlPlaneCapacityLossFault, ZoneOutageFault,
        CleanupJobFault,
    )
}
"""Every fault kind and its model."""


def _fault_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) and kind in FAULT_MODELS else "unknown-kind"  # kind may be a list


FaultSpec = Annotated[
    Annotated[SurgeFault, Tag("surge")]
    | Annotated[BotTrafficFault, Tag("bot_traffic")]
    | Annotated[CrashFault, Tag("crash")]
    | Annotated[GPULostFault, Tag("gpu_lost")]
    | Annotated[ECCErrorFault, Tag("ecc_error")]
    | Annotated[TPLinkFailureFault, Tag("tp_link_failure")]
    | Annotated[ThermalThrottleFault, Tag("thermal_throttle")]
    | Annotated[KVCacheExhaustionFault, Tag("kv_cache_exhaustion")]
    | Annotated[ErrorRateFault, Tag("error_rate")]
    | Annotated[LatencyInflationFault, Tag("latency_inflation")]
    | Annotated[HangFault, Tag("hang")]
    | Annotated[PoisonRequestFault, Tag("poison_request")]
    | Annotated[MemoryLeakFault, Tag("memory_leak")]
    | Annotated[WrongAnswerFault, Tag("wrong_answer")]
    | Annotated[NetworkLatencyFault, Tag("network_latency")]
    | Annotated[PacketLossFault, Tag("packet_loss")]
    | Annotated[PartitionFault, Tag("partition")]
    | Annotated[DNSFailureFault, Tag("dns_failure")]
    | Annotated[DNSCacheCutFault, Tag("dns_cache_cut")]
    | Annotated[BadDeployFault, Tag("bad_deploy")]
    | Annotated[DrainFault, Tag("drain")]
    | Annotated[ConfigPushFault, Tag("config_push")]
    | Annotated[OSUpdateFault, Tag("os_update")]
    | Annotated[FleetChangeFault, Tag("fleet_change")]
    | Annotated[DatabaseSlowFault, Tag("database_slow")]
    | Annotated[DatabaseDownFault, Tag("database_down")]
    | Annotated[DatabaseFailoverFault, Tag("database_failover")]
    | Annotated[ConnectionSurgeFault, Tag("connection_surge")]
    | Annotated[CacheFlushFault, Tag("cache_flush")]
    | Annotated[CacheDownFault, Tag("cache_down")]
    | Annotated[ControlPlaneOverloadFault, Tag("control_plane_overload")]
    | Annotated[ControlPlaneCapacityLossFault, Tag("control_plane_capacity_loss")]
    | Annotated[ZoneOutageFault, Tag("zone_outage")]
    | Annotated[CleanupJobFault, Tag("cleanup_job")]
    | Annotated[UnknownFault, Tag("unknown-kind")],
    Discriminator(_fault_tag),
]
"""One fault of the ``faults:`` list, by ``kind``."""
