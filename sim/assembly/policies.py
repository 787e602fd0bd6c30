"""Build each component's policy bundle from the scenario, and start the controllers that act on the fleet.

A component's own field wins over ``policies:`` (e.g. ``pools[].shedding`` over ``policies.shedding``).
A policy that is off gives None in its bundle, so the component takes its plain path at no cost.
Called by ``sim.assembly.wiring.build_stack``; nothing here writes a component's attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.components.policies import BalancerPolicies, BalancerSelection, ClientPolicies, Retry, ServerPolicies
from sim.engine.world import World
from sim.resilience.controllers.autoscaler import HorizontalPodAutoscaler
from sim.resilience.controllers.failover import DatabaseFailover
from sim.resilience.controllers.liveness import LivenessProbe
from sim.resilience.controllers.maintenance import Maintenance
from sim.resilience.controllers.provisioning import Provisioner
from sim.resilience.controllers.rollout import Rollout
from sim.resilience.policies.balancer_selection import SELECTIONS, DnsAnswer, HealthCheckedRecord
from sim.resilience.policies.balancing import BALANCERS
from sim.resilience.policies.circuit_breaker import breaker_guard
from sim.resilience.policies.deadline import propagated_deadline
from sim.resilience.policies.fallback import fallback_plan
from sim.resilience.policies.outlier import OutlierDetector
from sim.resilience.policies.panic import PanicThreshold
from sim.resilience.policies.rate_limit import RateLimiter
from sim.resilience.policies.readiness import ActiveHealthCheck
from sim.resilience.policies.retry import RetryPolicy
from sim.resilience.policies.shedding import AdmissionQueue, needs_admission_queue
from sim.resilience.policies.throttling import AdaptiveThrottle
from sim.spec.policies import PoliciesSpec, RetrySpec


def server_policies(pool: Any, policies: PoliciesSpec, world: World) -> ServerPolicies:
    """A replica's queue discipline (shedding, deadline dropping) and the breaker around its dependency."""
    env = world.env
    shedding = pool.shedding or policies.shedding
    deadline = pool.deadline or policies.deadline
    waiting_queue = None
    if needs_admission_queue(shedding, deadline.propagate):
        deadline_of = propagated_deadline(world) if deadline.propagate else None

        def waiting_queue(capacity: int, drop: Any) -> AdmissionQueue:
            return AdmissionQueue(shedding, capacity, lambda: env.now, drop, deadline_of)

    breaker = pool.circuit_breaker or policies.circuit_breaker
    guard = breaker_guard(breaker, lambda: env.now) if breaker.enabled else None
    return ServerPolicies(waiting_queue=waiting_queue, dependency_guard=guard)


def startup_retry(spec: RetrySpec, world: World, server_name: str) -> Retry:
    """The retry policy pacing a replica's start-up attempts."""
    return RetryPolicy(spec, world.streams.get(server_name, "startup"))


def balancer_policies(spec: Any, policies: PoliciesSpec, world: World, zone: str, by_pool: dict[str, list[Any]],
                      class_of_client: dict[str, str]) -> BalancerPolicies:
    """Balancing, readiness checks, panic mode, outlier detection, retries, rate limiting and fallback."""
    streams = world.streams
    balancing = spec.balancing or policies.balancing
    health = spec.health_check or policies.health_check
    panic = spec.panic or policies.panic
    outlier = spec.outlier_detection or policies.outlier_detection
    retry = spec.retry or policies.retry
    rate_limit = spec.rate_limit or policies.rate_limit
    fallback = spec.fallback
    return BalancerPolicies(
        balancer=BALANCERS.create(balancing.kind, streams.get(spec.name, "balancing"), balancing.choice_count,
                                  balancing, zone),
        readiness=ActiveHealthCheck(health, streams.get(spec.name, "health")) if health.enabled else None,
        outlier=OutlierDetector(outlier) if outlier.enabled else None,
        panic=PanicThreshold(panic.threshold_percent) if panic.enabled else None,
        retry=RetryPolicy(retry, streams.get(spec.name, "retry"))
        if retry.layer in ("load_balancer", "both") and retry.max_attempts > 1 else None,
        rate_limit=RateLimiter(rate_limit, class_of_client) if rate_limit.enabled and rate_limit.classes else None,
        fallback=None if fallback is None else fallback_plan(
            fallback, by_pool.get(fallback.pool, []) if fallback.pool else []),
    )


def show_zones(load_balancers: list[Any], specs: list[Any]) -> None:
    """Tell zone-aware balancers their upstream (the list grows with autoscaling) and their origins: the
    load balancers fronting the same pools (Envoy weighs the origins' spread over zones)."""
    for lb, spec in zip(load_balancers, specs, strict=True):
        see_upstream = getattr(lb.balancer, "see_upstream", None)
        if see_upstream is not None:
            see_upstream(lb.servers)
        see_origin = getattr(lb.balancer, "see_origin", None)
        if see_origin is not None:
            see_origin([other for other, other_spec in zip(load_balancers, specs, strict=True)
                        if set(other_spec.upstream) == set(spec.upstream)])


def client_retry(spec_c: Any, policies: PoliciesSpec, world: World) -> Retry | None:
    """The client's retry policy, or None when the client never retries (one attempt, or retries only at
    the load balancer): no per-attempt policy calls then."""
    retry = spec_c.retry or policies.retry
    if retry.layer == "load_balancer" or retry.max_attempts == 1:
        return None
    return RetryPolicy(retry, world.streams.get(spec_c.name, "retry"))


class DnsRecords:
    """The health-checked DNS records of a run, one per set of load balancers and health-check settings,
    shared by the clients that resolve the same names (each client caches its own answer)."""

    def __init__(self, world: World):
        self.world = world
        self.records: dict[tuple[Any, ...], HealthCheckedRecord] = {}

    def record(self, balancers: list[Any], spec: Any) -> HealthCheckedRecord:
        key = (tuple(b.name for b in balancers), spec.check_interval_s, spec.failure_threshold)
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = HealthCheckedRecord(balancers, spec)
            record.start(self.world)
        return record


def balancer_selection(spec_c: Any, policies: PoliciesSpec, world: World, balancers: list[Any],
                       records: DnsRecords) -> BalancerSelection | None:
    """How a client with several load balancers picks one (None with a single one: nothing to pick)."""
    if len(balancers) < 2:
        return None
    dns = spec_c.lb_dns or policies.lb_dns
    answer = None
    if spec_c.lb_selection == "random" and dns.health_checked:
        env = world.env
        answer = DnsAnswer(records.record(balancers, dns), dns.ttl_s, lambda: env.now)
    return SELECTIONS.create(spec_c.lb_selection, balancers, answer)


def client_policies(spec_c: Any, policies: PoliciesSpec, world: World, discovery: Any, balancers: list[Any],
                    records: DnsRecords) -> ClientPolicies:
    """Balancer selection, adaptive throttling, overall deadline, priority and static stability."""
    throttling = spec_c.throttling or policies.throttling
    env = world.env
    return ClientPolicies(
        selection=balancer_selection(spec_c, policies, world, balancers, records),
        throttle=AdaptiveThrottle(throttling, world.streams.get(spec_c.name, "throttling"), lambda: env.now)
        if throttling.enabled else None,
        overall_timeout_s=spec_c.overall_timeout_s,
        priority=spec_c.priority,
        static_stability=bool(discovery is not None and discovery.static_stability),
    )


def start_controllers(scenario: Any, world: World, stack: Any, by_pool: dict[str, list[Any]],
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
        balancers = [lb for lb, spec in zip(stack.load_balancers, scenario.topology.load_balancers, strict=True)
                     if pool.name in spec.upstream]
        provisioner = Provisioner(pool.name, replicas, pool.replicas, lambda i, p=pool: make_replica(p, i), balancers)
        provisioner.start(world)
        stack.provisioners[pool.name] = provisioner  # the autoscaler's path, and operators' (scale_pool)
        if pool.autoscaling is not None and pool.autoscaling.enabled:
            hpa = HorizontalPodAutoscaler(pool.autoscaling, pool.name, replicas, pool.replicas,
                                          lambda i, p=pool: make_replica(p, i), balancers, provisioner)
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
