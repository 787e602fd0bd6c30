"""Give components their resilience policies from the scenario (a component's own field wins over
``policies``), and start the pool-level mechanisms. Called by ``sim.assembly.wiring.build_stack``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.resilience.autoscaler import HorizontalPodAutoscaler
from sim.resilience.health import LivenessProbe
from sim.resilience.policies.circuit_breaker import CircuitBreaker, GuardedDependency, record_on_server
from sim.resilience.policies.deadline import propagated_deadline
from sim.resilience.policies.fallback import attach_fallback
from sim.resilience.policies.outlier import OutlierDetector
from sim.resilience.policies.rate_limit import RateLimiter
from sim.resilience.policies.retry import RetryPolicy
from sim.resilience.policies.shedding import AdmissionQueue, needs_admission_queue
from sim.resilience.policies.throttling import AdaptiveThrottle
from sim.resilience.redundancy import DatabaseFailover
from sim.resilience.rollout import Maintenance, Rollout


def configure_server(server: Any, pool: Any, policies: Any, world: Any) -> None:
    """Shedding / deadline queue and a circuit breaker on the dependency, as the pool's policies say."""
    shedding = pool.shedding or policies.shedding
    deadline = pool.deadline or policies.deadline
    if needs_admission_queue(shedding, deadline.propagate):
        env = world.env
        queue = AdmissionQueue(
            shedding, server.queue_capacity, lambda: env.now, server._reply,
            propagated_deadline(world) if deadline.propagate else None,
        )
        server.waiting = queue
        server.admission = queue
    breaker_spec = pool.circuit_breaker or policies.circuit_breaker
    if breaker_spec.enabled and server.dependency is not None:
        env = world.env
        server.breaker = CircuitBreaker(breaker_spec, lambda: env.now)
        server.breaker.on_change = record_on_server(server, server.dependency, world)
        server.dependency = GuardedDependency(server.dependency, server.breaker, lambda: env.now)


def configure_balancer(comp: Any, spec: Any, policies: Any, world: Any, by_pool: dict[str, list[Any]],
                       class_of_client: dict[str, str]) -> None:
    """Panic mode, outlier detection, retries at the load balancer, rate limiting and fallback."""
    panic = spec.panic or policies.panic
    if panic.enabled:
        comp.panic_threshold_percent = panic.threshold_percent
        comp._rebuild()
    outlier = spec.outlier_detection or policies.outlier_detection
    if outlier.enabled:
        comp.outlier = OutlierDetector(outlier)
    retry = spec.retry or policies.retry
    if retry.layer in ("load_balancer", "both") and retry.max_attempts > 1:
        comp.retry = RetryPolicy(retry, world.streams.get(spec.name, "retry"))
    rate_limit = spec.rate_limit or policies.rate_limit
    if rate_limit.enabled and rate_limit.classes:
        comp.rate_limiter = RateLimiter(rate_limit, class_of_client)
    if spec.fallback is not None:
        attach_fallback(comp, spec.fallback, by_pool.get(spec.fallback.pool, []) if spec.fallback.pool else [])


def client_retry(spec_c: Any, policies: Any, world: Any) -> RetryPolicy | None:
    """The client's retry policy, or None when the client never retries (one attempt, or retries only at
    the load balancer): no per-attempt policy calls then."""
    retry = spec_c.retry or policies.retry
    if retry.layer == "load_balancer" or retry.max_attempts == 1:
        return None
    return RetryPolicy(retry, world.streams.get(spec_c.name, "retry"))


def configure_client(client: Any, spec_c: Any, policies: Any, world: Any, discovery: Any) -> None:
    """Overall deadline, adaptive throttling, cell routing, priority and static stability."""
    client.overall_timeout_s = spec_c.overall_timeout_s
    throttling = spec_c.throttling or policies.throttling
    if throttling.enabled:
        env = world.env
        client.throttle = AdaptiveThrottle(throttling, world.streams.get(spec_c.name, "throttling"), lambda: env.now)
    client.by_user = spec_c.lb_selection == "by_user"
    client.priority = spec_c.priority
    client.static_stability = bool(discovery is not None and discovery.static_stability)


def start_mechanisms(scenario: Any, world: Any, stack: Any, by_pool: dict[str, list[Any]],
                     make_replica: Callable[[Any, int], Any]) -> dict[str, Any]:
    """Start liveness probes, autoscalers, rollouts, maintenance and database failover; returns them by name."""
    policies = scenario.policies
    out: dict[str, Any] = {}
    for pool in scenario.topology.pools:
        replicas = by_pool[pool.name]
        liveness = pool.liveness or policies.liveness
        if liveness.enabled:
            probe = LivenessProbe(liveness, world.streams.get(pool.name, "liveness"))
            probe.start(world, replicas)
            out[f"liveness:{pool.name}"] = probe
        if pool.autoscaling is not None and pool.autoscaling.enabled:
            balancers = [lb for lb, spec in zip(stack.load_balancers, scenario.topology.load_balancers, strict=True)
                         if pool.name in spec.upstream]
            hpa = HorizontalPodAutoscaler(pool.autoscaling, pool.name, replicas, pool.replicas,
                                          lambda i, p=pool: make_replica(p, i), balancers)
            hpa.start(world)
            out[f"autoscaler:{pool.name}"] = hpa
        if pool.rollout is not None:
            rollout = Rollout(pool.rollout, pool.name, list(replicas), 1.0 - scenario.slo.availability)
            rollout.start(world)
            out[f"rollout:{pool.name}"] = rollout
        if pool.maintenance is not None:
            maintenance = Maintenance(pool.maintenance, pool.name, list(replicas))
            maintenance.start(world)
            out[f"maintenance:{pool.name}"] = maintenance
    for db in scenario.topology.databases:
        if db.replica is not None:
            failover = DatabaseFailover(db.replica, stack.by_name[db.name])
            failover.start(world)
            out[f"failover:{db.name}"] = failover
    return out
