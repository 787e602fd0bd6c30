"""Topology section: zones, network, load balancers, server pools, databases, caches, discovery."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.spec.common import DistributionSpec, ExponentialSpec, Name, StrictModel
from sim.spec.control_plane import ClusterControlPlaneSpec, ControlPlaneSpec
from sim.spec.policies import (
    AutoscalingSpec,
    BalancingSpec,
    CircuitBreakerSpec,
    DeadlineSpec,
    FallbackSpec,
    HealthCheckSpec,
    LivenessSpec,
    MaintenanceSpec,
    OutlierDetectionSpec,
    PanicSpec,
    RateLimitSpec,
    RetrySpec,
    RolloutSpec,
    SheddingSpec,
)
from sim.spec.prefix_cache import PrefixCacheSpec

QUEUE_CAPACITY_DOC = ("Waiting-queue bound; a full queue rejects. 0: no waiting room, a loss system "
                      "(served only when a slot is free).")


class LinkSpec(StrictModel):
    """One-way latency between two zones (applied in both directions)."""

    zones: tuple[Name, Name] = Field(strict=False, description="The two zones the link joins.")  # YAML: a list
    latency_ms: float = Field(ge=0, description="One-way latency between the two zones, milliseconds.")


class NetworkSpec(StrictModel):
    """Latency between zones; each hop of a request pays the one-way latency of its link."""

    same_zone_latency_ms: float = Field(0.0, ge=0, description="One-way latency inside a zone, ms.")
    cross_zone_latency_ms: float = Field(
        1.0, ge=0, description="One-way latency between zones with no explicit link, ms."
    )
    links: list[LinkSpec] = Field(
        default_factory=list, description="Zone pairs with their own latency (overrides cross_zone_latency_ms)."
    )


class LLMServerSpec(StrictModel):
    """An LLM replica with continuous batching (iteration-level scheduling, as vLLM / Orca).

    Time model (DistServe-style, few coefficients): a prefill iteration for prompts P_i takes
    prefill_base_s + prefill_per_token_s * sum(P_i); a decode iteration with B running requests
    holding C context tokens takes decode_base_s + decode_per_seq_s * B + decode_per_context_token_s * C.
    Defaults are an illustration of a ~13B model on one 80 GB GPU (public vLLM / DistServe
    benchmark ballparks), not a measurement of a particular deployment.
    """

    mode: Literal["llm"]
    max_batch_size: int = Field(64, ge=1, description="Most requests in the running batch.")
    kv_cache_tokens: int = Field(
        60_000, ge=1, description="KV-cache capacity in tokens; a running request holds prompt + generated."
    )
    queue_capacity: int = Field(256, ge=0, description=QUEUE_CAPACITY_DOC)
    model_load_s: float = Field(120.0, ge=0, description="Cold start: model load before serving.")
    prefill_base_s: float = Field(
        0.015, ge=0, description="Fixed time of a prefill iteration (illustration: ~13B model, one 80 GB GPU)."
    )
    prefill_per_token_s: float = Field(
        0.00012, ge=0, description="Prefill time per prompt token of the batch (illustration)."
    )
    decode_base_s: float = Field(0.012, ge=0, description="Fixed time of a decode iteration (illustration).")
    decode_per_seq_s: float = Field(0.0002, ge=0, description="Decode time per running sequence (illustration).")
    decode_per_context_token_s: float = Field(
        2e-7, ge=0, description="Decode time per context token held by the running batch (illustration)."
    )
    prefix_cache: PrefixCacheSpec | None = Field(None, description="Cache of prompt-prefix KV blocks; null: none.")


class PlainServerSpec(StrictModel):
    """A plain c-server FIFO queue with a service-time distribution (for validation: M/M/c, M/G/c)."""

    mode: Literal["plain"]
    service_time_s: DistributionSpec = Field(
        default_factory=lambda: ExponentialSpec(kind="exponential", mean=1.0),
        description="Service-time distribution of one request.",
    )
    concurrency: int = Field(1, ge=1, description="Requests served at once (c).")
    queue_capacity: int = Field(100_000, ge=0, description=QUEUE_CAPACITY_DOC)
    model_load_s: float = Field(0.0, ge=0, description="Cold start before serving.")


ServerSpec = Annotated[LLMServerSpec | PlainServerSpec, Field(discriminator="mode")]


class MemorySpec(StrictModel):
    """Memory of each replica that grows with the work in flight: baseline + per_request_mb x requests.

    Above ``limit_mb`` the process is OOM-killed (its work lost) and restarts after
    ``oom_restart_delay_s`` and a cold start; above ``readiness_limit_mb`` its readiness probe fails,
    so load balancers take it out of rotation until it drains (with ``retained_share``, until what the
    process keeps falls under it: a restart, when it keeps its peak). Figures are illustrations.
    """

    limit_mb: float = Field(16_384.0, gt=0, description="Container memory limit.")
    baseline_mb: float = Field(8_192.0, ge=0, description="Memory in use with nothing in flight.")
    per_request_mb: float = Field(gt=0, description="Memory held by each request in flight (queued or served).")
    readiness_limit_mb: float | None = Field(
        None, gt=0, description="Readiness probes fail above this; null: memory does not affect readiness."
    )
    oom_restart_delay_s: float = Field(10.0, ge=0, description="Restart delay after an OOM kill (Kubernetes 10 s).")
    retained_share: float = Field(
        0.0, ge=0, le=1, description="Share of the highest per-request memory a process has held that it keeps "
        "after the requests end, until it restarts (an allocator that does not give freed pages back, a fragmented "
        "heap); new requests reuse it, readiness counts it. 0: all given back. Illustration."
    )

    @model_validator(mode="after")
    def _figures(self) -> MemorySpec:
        if self.baseline_mb >= self.limit_mb:
            raise ValueError(f"baseline_mb: must be below limit_mb ({self.limit_mb:g})")
        if self.readiness_limit_mb is not None and not self.baseline_mb < self.readiness_limit_mb <= self.limit_mb:
            raise ValueError("readiness_limit_mb: must be above baseline_mb and at most limit_mb")
        return self


class StartupSpec(StrictModel):
    """Start-up queries: a (re)starting replica reads from a shared database before it can serve.

    After the model loads, the replica runs ``db_calls`` sequential queries on ``database``; one
    failure (no connection within the database's connect timeout, a full wait queue, unreachable)
    fails the start-up attempt, which is retried from the first query after a backoff from ``retry``
    (the retry policy's backoff and jitter). After ``retry.max_attempts`` failed attempts the process
    exits and restarts after ``restart_delay_s`` (then the model loads again). Many replicas
    restarting at once make a restart herd on the database.
    """

    database: Name = Field(description="Database the start-up queries go to (may differ from the pool's own).")
    db_calls: int = Field(1, ge=1, description="Sequential start-up queries per start-up attempt.")
    query_timeout_s: float | None = Field(
        None, gt=0, description="The replica gives up on a query after this long (the database still runs it: "
        "wasted work); null: wait for the database's own answer (its connect timeout)."
    )
    retry: RetrySpec = Field(
        default_factory=RetrySpec,
        description="Retries of a failed start-up attempt (max_attempts, backoff_base_s, backoff_cap_s, "
        "multiplier, jitter; budget, token bucket and layer are not used).",
    )
    restart_delay_s: float = Field(
        10.0, ge=0,
        description="Restart delay after the last attempt fails (Kubernetes CrashLoopBackOff starts at 10 s).",
    )
    restart_backoff_cap_s: float | None = Field(
        None, gt=0, description="CrashLoopBackOff: the restart delay doubles after each consecutive exit up to "
        "this cap (Kubernetes 300 s), reset by a successful start-up; null: always restart_delay_s.",
    )

    @model_validator(mode="after")
    def _waits(self) -> StartupSpec:
        if self.retry.backoff_base_s <= 0:
            raise ValueError("retry.backoff_base_s: must be above 0 for start-up retries")
        return self


class PoolSpec(StrictModel):
    """A pool of identical replicas, spread round-robin over its zones."""

    name: Name = Field(description="Unique pool name; replicas are named <pool>-0, <pool>-1, ...")
    replicas: int = Field(ge=1, description="Number of replicas (N+k is how many you deploy).")
    zones: list[Name] | None = Field(None, description="Zones to spread replicas over; default: the first zone.")
    server: ServerSpec = Field(
        description="What each replica is: an LLM server (mode llm) or a plain queue (mode plain)."
    )
    database: Name | None = Field(None, description="Database (or cache) each request calls before inference.")
    db_calls_per_request: int = Field(1, ge=0, description="Sequential calls to the database per request.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of every replica, for fault targets (target.labels)."
    )
    models: list[str] | None = Field(
        None, description="Models this pool serves (requests for others go to other pools); null: every model."
    )
    shedding: SheddingSpec | None = Field(None, description="Overrides policies.shedding.")
    deadline: DeadlineSpec | None = Field(None, description="Overrides policies.deadline.")
    liveness: LivenessSpec | None = Field(None, description="Overrides policies.liveness.")
    circuit_breaker: CircuitBreakerSpec | None = Field(
        None, description="Overrides policies.circuit_breaker (guards the calls to the pool's database)."
    )
    autoscaling: AutoscalingSpec | None = Field(None, description="Kubernetes HPA for this pool; null: none.")
    rollout: RolloutSpec | None = Field(None, description="A deploy of a new version; null: none.")
    maintenance: MaintenanceSpec | None = Field(None, description="Planned rolling restart; null: none.")
    startup: StartupSpec | None = Field(
        None, description="Start-up queries to a shared database before serving (restart herd); null: none."
    )
    memory: MemorySpec | None = Field(
        None, description="Memory that grows with requests in flight (OOM kill, readiness); null: not modelled."
    )


class DatabaseReplicaSpec(StrictModel):
    """A standby replica promoted automatically when the primary stops answering (e.g. Patroni, RDS Multi-AZ).

    Checked every 5 s. It is the only recovery from a ``database_failover`` fault.
    """

    zone: Name | None = Field(None, description="Zone of the standby; default: the primary's.")
    detection_s: float = Field(30.0, ge=0, description="Time to declare the primary dead (Patroni ttl 30 s).")
    promotion_s: float = Field(30.0, ge=0, description="Time to promote the standby (illustrative).")


class ConnectionSetupSpec(StrictModel):
    """Connections opened on demand, each costing the database work to accept (incident 4).

    A query that finds no idle open connection opens one (up to ``pool_size`` connections, counting
    those being set up). Accepting a connection takes ``setup_s`` of work on ``cpus``
    processors shared by every setup in progress; a caller gives up after ``connect_timeout_s`` and
    retries by ``retry`` (the database finishes the abandoned setup anyway: wasted work). Connections stay
    open until the database drops them (a restart, a promotion, a ``connection_surge``). Illustrations.
    """

    setup_s: float = Field(
        0.05, gt=0, description="Work to accept one connection (authentication, a new backend); the same for each.")
    cpus: int = Field(4, ge=1, description="Processors shared by the setups in progress (processor sharing).")
    connect_timeout_s: float = Field(1.0, gt=0, description="Callers give up on a new connection after this long.")
    pool_min: int = Field(
        0, ge=0, description="Connections the callers' pooler keeps open (pgbouncer min_pool_size): open at the "
        "start, and reopened all at once whenever the database drops them.")
    retry: RetrySpec = Field(
        default_factory=RetrySpec, description="Callers' retries of a failed connect (max_attempts, backoff_base_s, "
        "backoff_cap_s, multiplier, jitter; budget, token bucket and layer are not used).")


class DatabaseSpec(StrictModel):
    """A database with a connection pool: at most pool_size queries run at once, others wait."""

    name: Name = Field(description="Unique component name.")
    zone: Name | None = Field(None, description="Zone of the database; default: the first zone.")
    pool_size: int = Field(50, ge=1, description="Connections, i.e. concurrent queries.")
    service_time_s: DistributionSpec = Field(
        default_factory=lambda: ExponentialSpec(kind="exponential", mean=0.005),
        description="Time one query holds its connection.",
    )
    queue_capacity: int = Field(1000, ge=0, description="Queries that may wait for a connection.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Longest wait for a connection before failing.")
    replica: DatabaseReplicaSpec | None = Field(None, description="Standby with automatic promotion; null: none.")
    connections: ConnectionSetupSpec | None = Field(
        None, description="Connections opened on demand at a cost to the database; null: the pool is always open.")


class CacheBackoffSpec(StrictModel):
    """Back off from a struggling cache shard (the follow-up of incident 2): after ``failure_threshold``
    timed-out lookups in a row, callers fail that shard's lookups at once for ``base_s``, doubling per
    consecutive opening up to ``cap_s``; a served lookup closes it. Illustrations."""

    failure_threshold: int = Field(5, ge=1, description="Timed-out lookups in a row that open the backoff.")
    base_s: float = Field(1.0, gt=0, description="First backoff window.")
    cap_s: float = Field(30.0, gt=0, description="Longest backoff window.")


class CacheSpec(StrictModel):
    """A look-aside cache in front of a database: hits are fast, misses query the database and fill."""

    name: Name = Field(description="Unique component name.")
    zone: Name | None = Field(None, description="Zone of the cache; default: the first zone.")
    database: Name = Field(description="The database behind the cache: misses query it, then fill the cache.")
    key_space: int = Field(10_000, ge=1, description="Distinct keys (one per user, modulo this).")
    ttl_s: float = Field(300.0, gt=0, description="Lifetime of a cached entry.")
    lookup_s: float = Field(0.0005, ge=0, description="Time of a cache lookup (with shard_concurrency: the mean "
                            "of an exponential command time on its shard).")
    shards: int = Field(1, ge=1, description="Shards (Redis nodes); each user (customer) is hashed to one.")
    shard_concurrency: int | None = Field(
        None, ge=1, description="Commands a shard runs at once; others wait in its FIFO. null: lookups never "
        "queue (no capacity limit, the cache's old behaviour).")
    shard_queue_capacity: int = Field(10_000, ge=0, description="Commands that may wait on one shard.")
    timeout_s: float = Field(
        1.0, gt=0, description="Callers give up on a lookup after this long (the shard still runs it: wasted "
        "work); with shard_concurrency only. Illustration.")
    backoff: CacheBackoffSpec | None = Field(
        None, description="Callers back off from a shard whose lookups keep timing out; null: none.")


class DiscoverySpec(StrictModel):
    """DNS / service discovery: clients resolve load balancers and cache the answer for ttl_s."""

    ttl_s: float = Field(30.0, gt=0, description="Time a resolved record stays cached by a client.")
    static_stability: bool = Field(
        False, description="Clients keep using their last-known-good records when discovery fails (static stability)."
    )
    control_plane: ControlPlaneSpec | None = Field(
        None, description="The control plane discovery depends on (capacity and load); null: none modelled."
    )


class LoadBalancerSpec(StrictModel):
    """A load balancer routing to the replicas of its upstream pools, with active health checks."""

    name: Name = Field(description="Unique component name.")
    zone: Name | None = Field(None, description="Zone of the load balancer; default: the first zone.")
    upstream: list[Name] = Field(min_length=1, description="Names of the pools it routes to.")
    balancing: BalancingSpec | None = Field(None, description="Overrides policies.balancing.")
    health_check: HealthCheckSpec | None = Field(None, description="Overrides policies.health_check.")
    outlier_detection: OutlierDetectionSpec | None = Field(None, description="Overrides policies.outlier_detection.")
    panic: PanicSpec | None = Field(None, description="Overrides policies.panic.")
    retry: RetrySpec | None = Field(
        None, description="Overrides policies.retry; used when its layer is load_balancer or both."
    )
    rate_limit: RateLimitSpec | None = Field(None, description="Overrides policies.rate_limit.")
    fallback: FallbackSpec | None = Field(None, description="Graceful degradation; null: none.")


class TopologySpec(StrictModel):
    """The serving stack: client → (discovery) → load balancers → pools → database / cache."""

    zones: list[Name] = Field(
        default_factory=lambda: ["zone-a"], min_length=1,
        description="Availability zones; replicas, load balancers, databases and caches are placed in them.",
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="One-way latency between and inside zones.")
    discovery: DiscoverySpec | None = Field(
        None,
        description="DNS / service discovery between clients and load balancers; null: clients know their targets.",
    )
    load_balancers: list[LoadBalancerSpec] = Field(
        min_length=1, description="Load balancers, each routing to the replicas of its upstream pools."
    )
    pools: list[PoolSpec] = Field(min_length=1, description="Pools of identical server replicas.")
    databases: list[DatabaseSpec] = Field(default_factory=list, description="Databases with a connection pool.")
    caches: list[CacheSpec] = Field(default_factory=list, description="Look-aside caches in front of databases.")
    control_planes: list[ClusterControlPlaneSpec] = Field(
        default_factory=list, description="Control planes of clusters, each with the pools it runs (in-cluster DNS "
        "depends on it); the control plane of the clients' discovery is discovery.control_plane."
    )

    @model_validator(mode="after")
    def _policy_references(self) -> TopologySpec:
        """Resilience settings that name other parts of the topology (fallback pools, replica bounds)."""
        pools = {p.name for p in self.pools}
        for i, lb in enumerate(self.load_balancers):
            if lb.fallback is not None and lb.fallback.pool is not None:
                if lb.fallback.pool not in pools:
                    raise ValueError(f"load_balancers[{i}].fallback.pool: no pool named '{lb.fallback.pool}'")
                if lb.fallback.pool in lb.upstream:
                    raise ValueError(f"load_balancers[{i}].fallback.pool: '{lb.fallback.pool}' is also an upstream")
        for i, pool in enumerate(self.pools):
            scaling = pool.autoscaling
            if scaling is not None and scaling.enabled and scaling.max_replicas < (scaling.min_replicas or 1):
                raise ValueError(f"pools[{i}].autoscaling.max_replicas: below min_replicas")
            if pool.startup is not None and pool.startup.database not in {d.name for d in self.databases}:
                raise ValueError(f"pools[{i}].startup.database: no database named '{pool.startup.database}'")
        owner: dict[str, str] = {}
        for i, cp in enumerate(self.control_planes):
            for j, pool in enumerate(cp.pools):
                if pool not in pools:
                    raise ValueError(f"control_planes[{i}].pools[{j}]: no pool named '{pool}'")
                if pool in owner:
                    raise ValueError(f"control_planes[{i}].pools[{j}]: '{pool}' already runs under '{owner[pool]}'")
                owner[pool] = cp.name
        return self
