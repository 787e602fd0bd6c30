"""Policies section: scenario-wide defaults for the resilience policies components hold.

A component's own field (e.g. a load balancer's ``balancing``, a pool's ``shedding``) overrides the
default here, so a design comparison can change one policy in one place. Names and defaults follow
the production systems practitioners know (Envoy, Kubernetes, resilience4j, gRPC, the Google SRE
book); each default's source is in its description. Mechanisms that are off by default
(``enabled: false``) leave the behaviour of a scenario that does not mention them unchanged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.spec.common import Name, StrictModel

BALANCING_KINDS = (
    "round_robin", "random", "least_outstanding", "power_of_two", "zone_aware", "sticky", "shuffle_shard",
)
JITTER_KINDS = ("none", "full", "equal", "decorrelated")
QUEUE_DISCIPLINES = ("fifo", "lifo", "adaptive_lifo", "codel")


class BalancingSpec(StrictModel):
    """How a load balancer picks a replica (Envoy names; default round robin, as Envoy's).

    Kinds: ``round_robin`` (Envoy's default); ``random``; ``least_outstanding`` (fewest requests in flight;
    a crashed replica that answers at once looks least loaded); ``power_of_two`` (the less loaded of
    ``choice_count`` random picks: Envoy least_request); ``zone_aware`` (Envoy zone-aware routing: stays in
    the local zone with probability min(1, the zone's share of the replicas in rotation / its share of the
    load balancers fronting them), the rest spills to the other zones in proportion to their residual
    capacity); ``sticky`` (session affinity by user, rendezvous hashing); ``shuffle_shard`` (each customer,
    a client and user, gets ``shard_size`` of the N replicas by a seeded hash); ``prefix_affinity``
    (cache-aware routing within a bounded load).
    """

    kind: Literal[
        "round_robin", "random", "least_outstanding", "power_of_two", "zone_aware", "sticky", "shuffle_shard",
        "prefix_affinity",
    ] = Field("round_robin", description="Envoy's default lb_policy is ROUND_ROBIN.")
    choice_count: int = Field(2, ge=2, description="Candidates sampled by power_of_two (Envoy choice_count 2).")
    failover: bool = Field(
        True, description="zone_aware: when no replica of the local zone is in rotation, use the other zones "
        "(Envoy zone-aware routing falls back to all zones)."
    )
    shard_size: int = Field(
        2, ge=1, description="shuffle_shard: replicas per customer (AWS shuffle-sharding examples use 2)."
    )
    stickiness: float = Field(
        1.0, ge=0, le=1, description="sticky: chance that a user's next request stays in the user's session "
        "(same replica); otherwise a new session is pinned afresh (a new conversation). 1: pinned for good."
    )
    load_factor: float = Field(
        1.25, ge=1, le=100, description="prefix_affinity: most load per replica, as a multiple of the mean "
        "(bounded-load consistent hashing; 1 is strict balance, larger trades balance for cache hits)."
    )
    cache_weight: float = Field(
        8.0, ge=0, le=1000, description="prefix_affinity: a fully cached prompt counts as this many fewer "
        "outstanding requests (an illustration tuned on the Mooncake trace)."
    )


class PanicSpec(StrictModel):
    """Panic mode: below a share of hosts in rotation, route to every host (Envoy healthy_panic_threshold)."""

    enabled: bool = Field(False, description="Off by default here so existing scenarios keep their behaviour.")
    threshold_percent: float = Field(
        50.0, ge=0, le=100, description="Envoy healthy_panic_threshold default 50 %."
    )


class HealthCheckSpec(StrictModel):
    """Active readiness checks by a load balancer; defaults are Kubernetes probe defaults."""

    enabled: bool = Field(True, description="On by default, as readiness probes are in most deployments.")
    period_s: float = Field(10.0, gt=0, description="Probe interval (Kubernetes periodSeconds 10).")
    timeout_s: float = Field(1.0, gt=0, description="Probe timeout (Kubernetes timeoutSeconds 1).")
    failure_threshold: int = Field(3, ge=1, description="Failures to mark down (Kubernetes 3).")
    success_threshold: int = Field(1, ge=1, description="Successes to mark up (Kubernetes 1).")


class LivenessSpec(StrictModel):
    """Kubernetes liveness probe: after failure_threshold failed probes the kubelet restarts the container.

    A probe fails when the replica is hung or answers slower than ``timeout_s`` (a slow replica's
    health endpoint is slow too), so a liveness probe can restart a replica that was merely slow.

    The health endpoint is 0.05 s of work times the replica's slow factor: a replica 20 times slower fails
    a 1 s probe and is restarted, losing its in-flight work.
    """

    enabled: bool = Field(False, description="Off by default (Kubernetes has no default liveness probe).")
    period_s: float = Field(10.0, gt=0, description="Kubernetes periodSeconds 10.")
    timeout_s: float = Field(1.0, gt=0, description="Kubernetes timeoutSeconds 1.")
    failure_threshold: int = Field(3, ge=1, description="Kubernetes failureThreshold 3.")
    restart_delay_s: float = Field(
        10.0, ge=0, description="Delay before the container restarts (Kubernetes CrashLoopBackOff starts at 10 s)."
    )


class OutlierDetectionSpec(StrictModel):
    """Passive health checking from replies (Envoy outlier_detection names and defaults)."""

    enabled: bool = Field(False, description="Off by default (Envoy enables it only when configured).")
    consecutive_5xx: int = Field(5, ge=1, description="Envoy consecutive_5xx 5 (server_error, dependency_error, "
                                 "rejected count as 5xx).")
    interval_s: float = Field(10.0, gt=0, description="Envoy interval 10 s: sweep for success rate and un-ejection.")
    base_ejection_time_s: float = Field(
        30.0, gt=0, description="Envoy base_ejection_time 30 s, multiplied by the number of times ejected."
    )
    max_ejection_time_s: float = Field(300.0, gt=0, description="Envoy max_ejection_time 300 s.")
    max_ejection_percent: float = Field(
        10.0, ge=0, le=100, description="Envoy max_ejection_percent 10 % (at least one host may always be ejected)."
    )
    success_rate: bool = Field(True, description="Success-rate ejection (Envoy enforcing_success_rate 100).")
    success_rate_minimum_hosts: int = Field(5, ge=1, description="Envoy success_rate_minimum_hosts 5.")
    success_rate_request_volume: int = Field(100, ge=1, description="Envoy success_rate_request_volume 100.")
    success_rate_stdev_factor: float = Field(
        1.9, gt=0, description="Envoy success_rate_stdev_factor 1900 (/1000): eject below mean - 1.9 stdev."
    )


class RetryBudgetSpec(StrictModel):
    """Envoy retry budget: retries in flight at most max(min_retry_concurrency, budget_percent % of active)."""

    budget_percent: float = Field(20.0, gt=0, le=100, description="Envoy retry_budget.budget_percent 20 %.")
    min_retry_concurrency: int = Field(3, ge=0, description="Envoy retry_budget.min_retry_concurrency 3.")


class RetryTokenBucketSpec(StrictModel):
    """gRPC retry throttling: a failure costs 1 token, a success earns token_ratio; retry while tokens > max/2."""

    max_tokens: float = Field(10.0, gt=0, description="gRPC retryThrottling maxTokens (example value 10).")
    token_ratio: float = Field(0.1, gt=0, description="gRPC retryThrottling tokenRatio 0.1 per success.")


class RetrySpec(StrictModel):
    """Retries with capped exponential backoff: wait = min(cap, base * multiplier**(n-1)), then jitter.

    A load balancer retrying (layer ``load_balancer`` or ``both``) retries ``server_error``, ``rejected``,
    ``dependency_error`` and ``network_error`` on a new pick (Envoy retry_on 5xx, reset, connect-failure).
    Never retried: ``cancelled`` (the caller gave up) and ``rate_limited`` (the server asked to back off).
    """

    max_attempts: int = Field(3, ge=1, description="Attempts in total, the first included (1 = no retry).")
    backoff_base_s: float = Field(0.1, ge=0, description="First backoff.")
    backoff_cap_s: float = Field(10.0, ge=0, description="Longest backoff.")
    multiplier: float = Field(2.0, ge=1, description="Growth per attempt.")
    jitter: Literal["none", "full", "equal", "decorrelated"] = Field(
        "full", description="AWS backoff names: full uniform in [0, wait]; equal wait/2 + uniform [0, wait/2]; "
        "decorrelated min(cap, uniform(base, 3 * previous))."
    )
    layer: Literal["client", "load_balancer", "both"] = Field(
        "client", description="Where retries happen; with both, attempts multiply (up to max_attempts squared)."
    )
    budget: RetryBudgetSpec | None = Field(None, description="Envoy retry budget; null: unlimited.")
    token_bucket: RetryTokenBucketSpec | None = Field(None, description="gRPC retry throttling; null: none.")

    @model_validator(mode="after")
    def _cap_above_base(self) -> RetrySpec:
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be at least backoff_base_s")
        return self


class CircuitBreakerSpec(StrictModel):
    """resilience4j circuit breaker on a replica's dependency calls (names and defaults of resilience4j)."""

    enabled: bool = Field(False, description="Off by default (a breaker is something you add).")
    failure_rate_threshold: float = Field(50.0, gt=0, le=100, description="resilience4j failureRateThreshold 50 %.")
    slow_call_rate_threshold: float = Field(
        100.0, gt=0, le=100, description="resilience4j slowCallRateThreshold 100 %."
    )
    slow_call_duration_threshold_s: float = Field(
        60.0, gt=0, description="resilience4j slowCallDurationThreshold 60 s."
    )
    sliding_window_size: int = Field(100, ge=1, description="resilience4j slidingWindowSize 100 (count-based).")
    minimum_number_of_calls: int = Field(100, ge=1, description="resilience4j minimumNumberOfCalls 100.")
    wait_duration_in_open_state_s: float = Field(
        60.0, gt=0, description="resilience4j waitDurationInOpenState 60 s."
    )
    permitted_number_of_calls_in_half_open_state: int = Field(
        10, ge=1, description="resilience4j permittedNumberOfCallsInHalfOpenState 10."
    )


class SheddingSpec(StrictModel):
    """Server admission and queueing: bounded queue discipline and priority classes.

    fifo is the default (unchanged behaviour). lifo serves the newest first; adaptive_lifo switches to
    LIFO while the queue is above half its bound (Facebook's adaptive LIFO); codel drops work that
    waited longer than target when the queue has not been empty for an interval (CoDel, RFC 8289
    target 5 ms / interval 100 ms; Facebook's variant for RPC queues).

    With lifo a full queue sheds its oldest request. With ``priority`` the lowest class (priority 0) is
    refused above ``low_priority_max_fill`` and pushed out first.
    """

    discipline: Literal["fifo", "lifo", "adaptive_lifo", "codel"] = Field(
        "fifo", description="Queue discipline; fifo is the default of every server."
    )
    codel_target_s: float = Field(0.005, gt=0, description="CoDel target 5 ms (RFC 8289).")
    codel_interval_s: float = Field(0.1, gt=0, description="CoDel interval 100 ms (RFC 8289).")
    priority: bool = Field(False, description="Serve higher client priority first; shed the lower class first.")
    low_priority_max_fill: float = Field(
        0.5, gt=0, le=1, description="With priority: the lowest class is rejected once the queue is this full."
    )


class DeadlineSpec(StrictModel):
    """Deadline propagation: the client's deadline travels with the attempt; servers drop expired work.

    With ``propagate``, servers see the client's deadline and drop queued work whose deadline has passed
    (outcome ``timeout``); the per-attempt and overall timeouts are the client's ``timeout_s`` and
    ``overall_timeout_s``, and ``cancel_on_timeout`` tells the server when an attempt is abandoned.
    """

    propagate: bool = Field(False, description="Off by default: servers work on attempts the client gave up on.")


class ThrottlingSpec(StrictModel):
    """Client-side adaptive throttling (Google SRE book, 'Handling Overload').

    Each attempt is rejected locally with probability max(0, (requests - K * accepts) / (requests + 1))
    over the last window_s; K = 2 and two minutes are the book's values.

    A throttled attempt ends its request as ``rejected`` and is not retried. Accepted means any answer but
    ``rejected``, ``rate_limited``, ``timeout``, ``no_healthy_upstream`` and ``server_error``.
    """

    enabled: bool = Field(False, description="Off by default.")
    k: float = Field(2.0, ge=1, description="SRE book K = 2.")
    window_s: float = Field(120.0, gt=0, description="SRE book: the last two minutes.")


class RateLimitClassSpec(StrictModel):
    """One client class's token bucket (Envoy local rate limit: max_tokens, tokens per fill interval)."""

    rate_rps: float = Field(gt=0, description="Refill rate.")
    burst: float = Field(gt=0, description="Bucket size (Envoy max_tokens).")


class RateLimitSpec(StrictModel):
    """Server-side rate limiting at a load balancer: a token bucket per client class; empty → rate_limited (429)."""

    enabled: bool = Field(False, description="Off by default.")
    classes: dict[Name, RateLimitClassSpec] = Field(
        default_factory=dict, description="Client class → bucket; classes not listed are not limited."
    )
    from_s: float = Field(
        0.0, ge=0, description="Time the limit switches on (an operator limiting incoming traffic mid-incident); "
        "before it every attempt passes. Buckets start full at that time."
    )


class FallbackSpec(StrictModel):
    """Graceful degradation at a load balancer: answer from a smaller-model pool or a cache, as ``degraded``.

    A fallback answer ends as ``degraded``: a success, counted apart.
    """

    pool: Name | None = Field(None, description="Pool of the smaller model; null: no fallback pool.")
    cached_answer_ratio: float = Field(
        0.0, ge=0, le=1, description="Share of failed attempts answered from a cache of earlier answers."
    )
    on: list[Literal["rejected", "no_healthy_upstream", "server_error", "dependency_error"]] = Field(
        default_factory=lambda: ["rejected", "no_healthy_upstream"], description="Failures that fall back."
    )


class AutoscalingSpec(StrictModel):
    """Kubernetes HPA on one pool: desired = ceil(current * actual / target) every sync period.

    A new replica is provisioned (``provisioning_delay_s``), then loads its model (the server's
    ``model_load_s``). Replicas draining after a scale-down no longer count, so the pool never goes below
    ``min_replicas``.
    """

    enabled: bool = Field(False, description="Off by default.")
    metric: Literal["utilization", "queue_length", "kv_cache"] = Field(
        "utilization", description="Per-replica metric: busy share, waiting requests, or KV-cache use."
    )
    target: float = Field(0.7, gt=0, description="Target per-replica value (utilization / KV share 0..1, or count).")
    sync_period_s: float = Field(15.0, gt=0, description="Kubernetes --horizontal-pod-autoscaler-sync-period 15 s.")
    tolerance: float = Field(0.1, ge=0, description="Kubernetes HPA tolerance 0.1.")
    scale_down_stabilization_s: float = Field(
        300.0, ge=0, description="Kubernetes scaleDown stabilizationWindowSeconds 300."
    )
    min_replicas: int | None = Field(None, ge=1, description="Default: the pool's replicas.")
    max_replicas: int = Field(10, ge=1, description="HPA maxReplicas.")
    provisioning_delay_s: float = Field(
        60.0, ge=0, description="Node and GPU provisioning before the model starts loading (cluster-autoscaler "
        "scale-up takes minutes; illustrative)."
    )
    gpu_quota: int | None = Field(None, ge=0, description="GPUs the pool may hold at most (cloud quota).")
    gpus_per_replica: int = Field(1, ge=1, description="GPUs one replica holds (tensor parallelism degree).")


class RolloutSpec(StrictModel):
    """A deploy of a new version to a pool: canary, then progressive steps, with automatic rollback.

    The new version changes the replica's error probability and speed (a bad deploy when those are bad).
    After each step the updated replicas are watched for bake_time_s; if their error rate exceeds
    max_error_rate (default: 1 - the SLO availability), every updated replica is rolled back.

    The version switch is in place (no restart) and adds to what faults do to the replica: a rollback
    removes only the version's share. Each switched replica records a transition naming ``rollout:<pool>``
    (a cascade root). A step is judged on the updated replicas' own ``server_error``s over their replies,
    not on rejections, timeouts or dependency errors. Replicas the autoscaler adds later are not part of
    the rollout.
    """

    at_s: float = Field(ge=0, description="When the deploy starts.")
    error_probability: float = Field(0.0, ge=0, le=1, description="Of the new version.")
    slow_factor: float = Field(1.0, gt=0, description="Of the new version (1 = same speed).")
    steps_percent: list[float] = Field(
        default_factory=lambda: [10.0, 50.0, 100.0], min_length=1,
        description="Share of the pool updated at each step; the first is the canary.",
    )
    bake_time_s: float = Field(60.0, gt=0, description="Observation time after each step.")

    @field_validator("steps_percent")
    @classmethod
    def _increasing(cls, steps: list[float]) -> list[float]:
        for j, step in enumerate(steps):
            if not 0 < step <= 100:
                raise ValueError(f"[{j}] is {step:g}: each step is a share of the pool in (0, 100]")
            if j and step <= steps[j - 1]:
                raise ValueError(f"[{j}] is {step:g}, not above the step before ({steps[j - 1]:g}): "
                                 "steps must increase")
        return steps
    auto_rollback: bool = Field(True, description="Roll back when the updated replicas breach max_error_rate.")
    max_error_rate: float | None = Field(None, ge=0, le=1, description="Default: 1 - slo.availability.")


class MaintenanceSpec(StrictModel):
    """Planned maintenance restarting every replica of a pool, limited by a disruption budget."""

    at_s: float = Field(ge=0, description="When the maintenance starts.")
    max_unavailable: int = Field(1, ge=1, description="Kubernetes PodDisruptionBudget maxUnavailable (often 1).")
    restart_delay_s: float = Field(10.0, ge=0, description="Reboot time before the model loads again.")
    grace_period_s: float = Field(
        30.0, ge=0, description="Longest drain before the restart (Kubernetes terminationGracePeriodSeconds 30)."
    )


class LbDnsSpec(StrictModel):
    """How a client with several load balancers picks one: a health-checked DNS record (global load
    balancing, as Route 53 health-checked records). A checker probes every load balancer each
    ``check_interval_s``; one that fails ``failure_threshold`` checks in a row leaves the answer (and
    returns after as many passes); clients cache the answer for ``ttl_s`` and pick uniformly from it.
    A dead load balancer is withdrawn at most check_interval_s x failure_threshold + ttl_s after it
    died. When every load balancer is unhealthy the record answers all of them (Route 53 fails open)."""

    health_checked: bool = Field(
        True, description="false: no health (a dead load balancer keeps its share of traffic forever)."
    )
    ttl_s: float = Field(60.0, gt=0, description="Answer TTL clients cache (Route 53 advises <= 60 s with health "
                         "checks).")
    check_interval_s: float = Field(30.0, gt=0, description="Route 53 standard health-check interval 30 s (fast: 10).")
    failure_threshold: int = Field(3, ge=1, description="Route 53 default: 3 checks in a row change the status.")


class PoliciesSpec(StrictModel):
    """Defaults applied to every component that does not set its own."""

    retry: RetrySpec = Field(default_factory=RetrySpec, description="Clients (and load balancers, by layer).")
    balancing: BalancingSpec = Field(default_factory=BalancingSpec, description="Load balancers.")
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec, description="Readiness, per load balancer.")
    liveness: LivenessSpec = Field(default_factory=LivenessSpec, description="Liveness, per pool.")
    outlier_detection: OutlierDetectionSpec = Field(default_factory=OutlierDetectionSpec,
                                                    description="Load balancers.")
    panic: PanicSpec = Field(default_factory=PanicSpec, description="Load balancers.")
    circuit_breaker: CircuitBreakerSpec = Field(default_factory=CircuitBreakerSpec,
                                                description="Replicas' calls to their database or cache.")
    shedding: SheddingSpec = Field(default_factory=SheddingSpec, description="Replicas' waiting queues.")
    deadline: DeadlineSpec = Field(default_factory=DeadlineSpec, description="Replicas.")
    throttling: ThrottlingSpec = Field(default_factory=ThrottlingSpec, description="Clients.")
    rate_limit: RateLimitSpec = Field(default_factory=RateLimitSpec, description="Load balancers.")
    lb_dns: LbDnsSpec = Field(default_factory=LbDnsSpec, description="Clients with several load balancers.")
