"""Each resilience mechanism does its job, shown against a control run on the same seed.

Scenarios are small plain-mode stacks (c-server FIFO replicas with exponential service) so that
every run takes a fraction of a second. Triggers are faults where the fault family exists (crash)
and otherwise a direct change of the one thing a fault would change (an effect such as ``error_share``,
``available``, a poison client), scheduled on the world's clock by ``run_with``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sim.assembly import build_stack, topology_graph
from sim.engine.world import World
from sim.faults import schedule_faults
from sim.observe.result import RunResult, collect
from sim.resilience.redundancy import shuffle_shard_expectations
from sim.spec.loader import parse_scenario

Action = tuple[float, Callable[[Any], None]]


def run_with(data: dict, actions: list[Action] = (), seed: int | None = None,
             record_requests: bool = False) -> tuple[RunResult, Any]:
    """Run a scenario given as a dict; each action ``(t_s, fn)`` calls ``fn(stack)`` at t_s."""
    scenario = parse_scenario(data)
    spec = scenario.run
    world = World(spec.seed if seed is None else seed, spec.duration_s, spec.bucket_s, spec.warmup_s,
                  record_requests)
    graph = topology_graph(scenario)
    stack = build_stack(scenario, world)
    schedule_faults(scenario, stack, world)
    for t_s, fn in actions:
        world.call_later(t_s, fn, stack)
    world.env.run(until=spec.duration_s)
    return collect(scenario, spec.seed, world, stack, graph), stack


def plain_pool(name: str, replicas: int, mean_s: float = 0.1, queue: int = 2000, **extra: Any) -> dict:
    return {"name": name, "replicas": replicas, "server": {
        "mode": "plain", "concurrency": 1, "service_time_s": {"kind": "exponential", "mean": mean_s},
        "queue_capacity": queue}, **extra}


def scenario(pools: list[dict], clients: list[dict], lbs: list[dict] | None = None, duration_s: float = 200,
             policies: dict | None = None, faults: list[dict] | None = None, **top: Any) -> dict:
    return {
        "name": "mechanism",
        "topology": {"load_balancers": lbs or [{"name": "lb", "upstream": [pools[0]["name"]]}], "pools": pools,
                     **top},
        "workload": {"clients": clients},
        "faults": faults or [],
        "policies": {"health_check": {"enabled": False}, **(policies or {})},
        "run": {"duration_s": duration_s, "seed": 3, "bucket_s": 5},
    }


def client(rate_rps: float, target: str = "lb", name: str = "c", **extra: Any) -> dict:
    return {"name": name, "target": [target], "arrival": {"kind": "poisson", "rate_rps": rate_rps}, **extra}


def window_mean(result: RunResult, series: str, start_s: float, end_s: float) -> float:
    ts = result.timeseries
    t = ts["t_s"]
    return float(ts[series][(t >= start_s) & (t < end_s)].mean())


# --- retry storm -----------------------------------------------------------------------------------

STORM_S = 240.0
RETRY = {"max_attempts": 3, "backoff_base_s": 0.05, "jitter": "none"}


def storm(policies: dict) -> RunResult:
    """4 replicas of 10 rps at 70 % load; 2 crash for 20 s; 1 s client timeout, no cancellation."""
    data = scenario(
        [plain_pool("p", 4)], [client(28.0, timeout_s=1.0)], duration_s=STORM_S, policies=policies,
        faults=[{"id": "loss", "kind": "crash", "target": {"pool": "p", "count": 2}, "at_s": 30, "duration_s": 20,
                 "restart": False}],
    )
    return run_with(data)[0]


def recovery(result: RunResult) -> float:
    """Goodput over the last minute divided by goodput before the trigger."""
    before = window_mean(result, "goodput_rps", 5, 30)
    after = window_mean(result, "goodput_rps", STORM_S - 60, STORM_S)
    return after / before


@pytest.fixture(scope="module")
def storm_control() -> RunResult:
    return storm({"retry": RETRY})


def test_retry_storm_without_budget_stays_stuck_after_the_trigger(storm_control):
    no_retry = storm({"retry": {"max_attempts": 1}})
    assert recovery(no_retry) > 0.9, "without retries the pool recovers: the trigger alone is not the problem"
    assert recovery(storm_control) < 0.2, "retries without a budget keep the pool past capacity"
    assert storm_control.summary["attempts_per_request"] > 2.0


@pytest.mark.parametrize("limit", [{"budget": {}}, {"token_bucket": {}}], ids=["retry_budget", "token_bucket"])
def test_retry_budget_or_token_bucket_recovers(storm_control, limit):
    limited = storm({"retry": {**RETRY, **limit}})
    assert recovery(limited) > 0.9
    assert limited.summary["attempts_per_request"] < 0.6 * storm_control.summary["attempts_per_request"]


def test_lifo_with_dropping_of_expired_work_recovers(storm_control):
    shed = storm({"retry": RETRY, "shedding": {"discipline": "lifo"}, "deadline": {"propagate": True}})
    assert recovery(shed) > 0.9
    assert recovery(storm_control) < 0.2


def test_jittered_backoff_alone_is_not_enough_in_an_open_system(storm_control):
    jitter = storm({"retry": {"max_attempts": 3, "backoff_base_s": 1.0, "backoff_cap_s": 10.0, "jitter": "full"}})
    assert recovery(jitter) < 0.2
    assert recovery(jitter) <= recovery(storm_control) + 0.1


# --- outlier ejection and panic mode ---------------------------------------------------------------

def failing(names: list[str]) -> Callable[[Any], None]:
    def act(stack: Any) -> None:
        for name in names:
            stack.by_name[name].effects.set("test", "error_share", 1.0)
    return act


def outlier_run(bad: list[str], outlier: dict | None) -> tuple[RunResult, Any]:
    policies = {"retry": {"max_attempts": 1}}
    if outlier is not None:
        policies["outlier_detection"] = {"enabled": True, **outlier}
    data = scenario([plain_pool("p", 10)], [client(50.0)], duration_s=150, policies=policies)
    return run_with(data, [(20.0, failing(bad))])


def error_share(result: RunResult, start_s: float = 20.0) -> float:
    errors = window_mean(result, "outcome_server_error", start_s, 1e9)
    ended = window_mean(result, "ended", start_s, 1e9)
    return errors / ended


def test_outlier_ejection_removes_an_erroring_server():
    control, _ = outlier_run(["p-3"], None)
    ejecting, stack = outlier_run(["p-3"], {})
    assert error_share(control) == pytest.approx(0.1, abs=0.03)
    assert error_share(ejecting) < 0.01
    assert stack.by_name["lb"].outlier.ejection_count >= 2, "ejected again after each ejection time"


def test_max_ejection_percent_stops_ejecting_the_whole_pool():
    bad = ["p-1", "p-4", "p-7"]
    capped, capped_stack = outlier_run(bad, {})  # Envoy default 10 %: one of ten at a time
    wide, _ = outlier_run(bad, {"max_ejection_percent": 50})
    lb = capped_stack.by_name["lb"]
    assert lb.outlier.capped > 0
    assert len(lb.outlier.ejected) <= 1
    assert error_share(capped) == pytest.approx(0.2, abs=0.05), "two of three bad servers stay in"
    assert error_share(wide) < 0.02


def panic_run(crashed: int, panic: bool) -> RunResult:
    data = scenario(
        [plain_pool("p", 10)], [client(20.0)], duration_s=90,
        policies={"retry": {"max_attempts": 1}, "health_check": {"period_s": 1.0},
                  "panic": {"enabled": panic}},
        faults=[{"id": "loss", "kind": "crash", "target": {"pool": "p", "count": crashed}, "at_s": 20,
                 "restart": False}],
    )
    return run_with(data)[0]


def test_panic_mode_routes_to_all_hosts_below_its_threshold():
    below = panic_run(6, panic=True)  # 4 of 10 in rotation: 40 % < 50 %
    control = panic_run(6, panic=False)
    above = panic_run(4, panic=True)  # 60 % in rotation: no panic
    assert error_share(below, 30) == pytest.approx(0.6, abs=0.06), "routes to the 6 down hosts too"
    assert error_share(control, 30) < 0.01
    assert error_share(above, 30) < 0.01


# --- circuit breaker ---------------------------------------------------------------------------------

def breaker_run(enabled: bool) -> tuple[RunResult, Any]:
    breaker = {"enabled": enabled, "sliding_window_size": 20, "minimum_number_of_calls": 20,
               "wait_duration_in_open_state_s": 10, "permitted_number_of_calls_in_half_open_state": 5}
    data = scenario([plain_pool("p", 4, database="db")], [client(20.0, timeout_s=10.0)], duration_s=150,
                    policies={"retry": {"max_attempts": 1}, "circuit_breaker": breaker},
                    databases=[{"name": "db", "connect_timeout_s": 5.0}])

    def set_db(available: bool) -> Callable[[Any], None]:
        def act(stack: Any) -> None:
            stack.by_name["db"].available = available
        return act

    return run_with(data, [(30.0, set_db(False)), (90.0, set_db(True))], record_requests=True)


def test_circuit_breaker_opens_under_a_failing_dependency_and_protects_caller_latency():
    control, _ = breaker_run(False)
    guarded, stack = breaker_run(True)

    def failed_latency(result: RunResult) -> float:
        req = result.requests
        mask = (req["arrival_s"] >= 40) & (req["arrival_s"] < 85) & (req["outcome"] == "dependency_error")
        return float(req["latency_s"][mask].mean())

    assert failed_latency(control) > 4.9, "without a breaker every caller waits the connect timeout"
    assert failed_latency(guarded) < 0.5, "an open breaker fails fast"
    states = [s for _, s in stack.by_name["p-0"].breaker.history]
    assert states[0] == "open" and "half_open" in states and states[-1] == "closed"
    degraded = [t for t in guarded.transitions if t.component == "p-0" and t.cause.mechanism == "circuit_breaker"]
    assert degraded[0].state == "degraded" and degraded[-1].state == "healthy"
    assert window_mean(guarded, "success_ratio", 120, 150) > 0.99, "it closes again once the database is back"


# --- autoscaling -----------------------------------------------------------------------------------

SURGE_AT_S = 60.0
PROVISION_S = 20.0
LOAD_S = 30.0


def autoscale_run(autoscaling: dict | None) -> tuple[RunResult, Any]:
    """2 replicas of 10 rps; the load steps from 12 to 40 rps at 60 s."""
    pool = plain_pool("p", 2, queue=20)  # 2 s of work: overload is rejected, not timed out
    pool["server"]["model_load_s"] = LOAD_S
    if autoscaling is not None:
        pool["autoscaling"] = {"enabled": True, "metric": "queue_length", "target": 5, "max_replicas": 10,
                               "provisioning_delay_s": PROVISION_S, **autoscaling}
    c = client(12.0, timeout_s=5.0)
    c["arrival"]["schedule"] = [{"at_s": SURGE_AT_S, "rate_rps": 40.0}]
    data = scenario([pool], [c], duration_s=260, policies={"retry": {"max_attempts": 1},
                                                            "health_check": {"period_s": 2.0}})
    return run_with(data)


def test_autoscaling_recovers_from_a_surge_only_after_provisioning_and_model_load():
    control, _ = autoscale_run(None)
    scaled, stack = autoscale_run({})
    hpa = stack.mechanisms["autoscaler:p"]
    first_up = hpa.events[0][0]
    assert SURGE_AT_S < first_up <= SURGE_AT_S + 15.0 + 1e-9, "the next HPA sync after the surge decides"
    joined = [t.t_s for t in scaled.transitions if t.component == "lb" and "restored p-" in t.cause.detail]
    assert joined and min(joined) >= first_up + PROVISION_S + LOAD_S
    slow_phase = window_mean(scaled, "goodput_rps", SURGE_AT_S, first_up + PROVISION_S + LOAD_S)
    assert slow_phase < 25.0, "nothing helps before the new replicas have loaded"
    assert window_mean(scaled, "goodput_rps", 200, 260) > 36.0
    assert 17.0 < window_mean(control, "goodput_rps", 200, 260) < 21.0, "2 replicas of 10 rps"


def test_a_too_small_gpu_quota_caps_autoscaling():
    capped, stack = autoscale_run({"gpu_quota": 3})
    hpa = stack.mechanisms["autoscaler:p"]
    assert len(hpa.replicas) == 3 and hpa.quota_capped > 0
    assert 26.0 < window_mean(capped, "goodput_rps", 200, 260) < 31.0, "3 replicas of 10 rps"


# --- zone failover ---------------------------------------------------------------------------------

ZONES = ["zone-a", "zone-b", "zone-c"]


def zone_run(rate_per_zone_rps: float, failover: bool) -> RunResult:
    """3 replicas of 10 rps per zone, a zone-aware load balancer and a client per zone; zone-a is lost at 30 s."""
    lbs = [{"name": f"lb-{z[-1]}", "zone": z, "upstream": ["p"],
            "balancing": {"kind": "zone_aware", "failover": failover}} for z in ZONES]
    clients = [client(rate_per_zone_rps, target=f"lb-{z[-1]}", name=f"c-{z[-1]}", zone=z, timeout_s=5.0)
               for z in ZONES]
    data = scenario([plain_pool("p", 9, queue=60, zones=ZONES)], clients, lbs=lbs, duration_s=150,
                    policies={"retry": {"max_attempts": 1}, "health_check": {"period_s": 2.0}},
                    faults=[{"id": "zone-a-lost", "kind": "crash", "target": {"pool": "p", "zone": "zone-a"},
                             "at_s": 30, "restart": False}], zones=ZONES)
    return run_with(data, record_requests=True)[0]


def availability(result: RunResult, start_s: float, client_name: str | None = None) -> float:
    req = result.requests
    mask = req["arrival_s"] >= start_s
    if client_name is not None:
        mask &= req["client"] == client_name
    return float(np.mean(req["outcome"][mask] == "success"))


def test_zone_failover_keeps_availability_with_headroom_and_not_without():
    headroom = zone_run(16.0, failover=True)  # 48 rps on the 60 rps left in two zones
    no_failover = zone_run(16.0, failover=False)
    no_headroom = zone_run(23.0, failover=True)  # 69 rps on 60 rps
    assert availability(headroom, 45) > 0.99
    assert availability(no_failover, 45) == pytest.approx(2 / 3, abs=0.03), "zone-a's clients lose everything"
    assert availability(no_headroom, 45) < 0.9
    assert availability(no_headroom, 45, "c-b") < 0.9, "the overload cascades into the surviving zones"
    overloaded = {t.component for t in no_headroom.transitions if t.state == "overloaded" and t.t_s > 30}
    assert overloaded and all(name not in ("p-0", "p-3", "p-6") for name in overloaded)


def test_one_zone_aware_balancer_uses_the_replicas_of_every_zone():
    """Regression: one zone-aware load balancer in zone-a, replicas in two zones, no fault. Envoy weighs the
    origins' spread (all in zone-a) against the upstream's (half in each): half the traffic crosses zones.
    It used to keep everything in zone-a: 30 rps on the 20 rps there, most of it rejected."""
    zones = ["zone-a", "zone-b"]
    data = scenario([plain_pool("p", 4, queue=20, zones=zones)], [client(30.0, zone="zone-a", timeout_s=5.0)],
                    lbs=[{"name": "lb", "zone": "zone-a", "upstream": ["p"], "balancing": {"kind": "zone_aware"}}],
                    duration_s=120, policies={"retry": {"max_attempts": 1}}, zones=zones)
    result, stack = run_with(data, record_requests=True)
    assert availability(result, 10) > 0.99
    served = result.summary["components"]
    per_zone = {z: sum(served[s.name]["completed"] for s in stack.servers if s.zone == z) for z in zones}
    assert per_zone["zone-b"] == pytest.approx(per_zone["zone-a"], rel=0.1)


def dead_balancer_run(lb_dns: dict) -> RunResult:
    """A client using two load balancers; lb-2 is deleted at 20 s for good; no retries."""
    lbs = [{"name": "lb-1", "upstream": ["p"]}, {"name": "lb-2", "upstream": ["p"]}]
    c = {"name": "c", "target": ["lb-1", "lb-2"], "arrival": {"kind": "poisson", "rate_rps": 10.0},
         "timeout_s": 5.0, "lb_dns": lb_dns}
    data = scenario([plain_pool("p", 4)], [c], lbs=lbs, duration_s=400, policies={"retry": {"max_attempts": 1}},
                    faults=[{"id": "lb-2-deleted", "kind": "cleanup_job", "target": {"name": "lb-2"},
                             "at_s": 20, "duration_s": 380}])
    return run_with(data, record_requests=True)[0]


def test_a_dead_balancer_leaves_the_clients_dns_answer():
    """Regression: a client picked one of its load balancers at random with no health, so a dead one kept
    its share forever. With the health-checked DNS record (checks every 30 s, 3 failures, TTL 60 s) lb-2
    is withdrawn at most 30 x 3 + 60 = 150 s after it died; without health it keeps half the traffic."""
    checked = dead_balancer_run({})
    unchecked = dead_balancer_run({"health_checked": False})
    req = checked.requests
    failed_at = req["arrival_s"][req["outcome"] == "network_error"]
    assert failed_at.min() >= 20 and failed_at.max() <= 20 + 150
    assert availability(checked, 20 + 150) == 1.0
    assert availability(unchecked, 20 + 150) == pytest.approx(0.5, abs=0.05), "the dead one keeps its share"
    assert availability(checked, 0) > availability(unchecked, 0) + 0.3


# --- shuffle sharding ------------------------------------------------------------------------------

def shard_run(kind: str) -> tuple[RunResult, Any]:
    """8 replicas; 560 customers; from 20 s one poison customer whose every request crashes the replica."""
    data = scenario(
        [plain_pool("p", 8, queue=200)],
        [client(40.0, users=560, timeout_s=5.0), client(1.0, name="poison", users=1, timeout_s=5.0)],
        lbs=[{"name": "lb", "upstream": ["p"], "balancing": {"kind": kind, "shard_size": 2}}], duration_s=160,
        policies={"retry": {"max_attempts": 3}, "health_check": {"period_s": 1.0, "failure_threshold": 1}},
    )

    def poison(stack: Any) -> None:
        for server in stack.servers:
            server.effects.set("test", "poison_restart_s", 10.0, 0)
        stack.by_name["poison"].effects.set("test", "poison_share", 1.0)

    return run_with(data, [(20.0, poison)], record_requests=True)


def customer_availability(result: RunResult) -> dict[int, float]:
    req = result.requests
    mask = (req["arrival_s"] >= 20) & (req["client"] == "c")
    per: dict[int, list[bool]] = {}
    for user, outcome in zip(req["user"][mask].tolist(), req["outcome"][mask].tolist(), strict=True):
        per.setdefault(user, []).append(outcome == "success")
    return {u: float(np.mean(v)) for u, v in per.items()}


def test_shuffle_sharding_limits_a_poison_customer_to_a_small_share_of_customers():
    control, _ = shard_run("least_outstanding")
    sharded, stack = shard_run("shuffle_shard")
    expect = shuffle_shard_expectations(8, 2)
    assert expect["full_overlap"] == pytest.approx(1 / 28)
    hurt_control = np.mean([a < 0.5 for a in customer_availability(control).values()])
    per_customer = customer_availability(sharded)
    hurt = np.mean([a < 0.5 for a in per_customer.values()])
    assert hurt_control > 0.5, "without sharding the poison customer takes most customers down"
    assert hurt < 2 * expect["full_overlap"], f"{hurt:.3f} of customers hurt, expected about 1/28"
    balancer = stack.by_name["lb"].balancer
    poison_shard = balancer.shard_of(_shard_key("poison", 0), 8)
    same = [u for u in per_customer if balancer.shard_of(_shard_key("c", u), 8) == poison_shard]
    assert np.mean([per_customer[u] < 0.5 for u in same]) > 0.8, "those hurt are the ones sharing its whole shard"


def _shard_key(client_name: str, user: int) -> int:
    from types import SimpleNamespace

    from sim.resilience.policies.balancing import customer_key

    return customer_key(SimpleNamespace(request=SimpleNamespace(client=client_name, user=user)))


# --- canary with rollback --------------------------------------------------------------------------

CANARY_AT_S = 30.0
BAKE_S = 30.0


def rollout_run(auto_rollback: bool) -> tuple[RunResult, Any]:
    """10 replicas at 50 rps; a deploy whose new version fails half its requests: 10 %, 50 %, 100 %."""
    pool = plain_pool("p", 10)
    pool["rollout"] = {"at_s": CANARY_AT_S, "error_probability": 0.5, "steps_percent": [10, 50, 100],
                       "bake_time_s": BAKE_S, "auto_rollback": auto_rollback}
    data = scenario([pool], [client(50.0)], duration_s=150, policies={"retry": {"max_attempts": 1}})
    return run_with(data)


def test_canary_with_rollback_limits_a_bad_deploy_to_its_share_for_a_bounded_time():
    guarded, stack = rollout_run(True)
    unguarded, _ = rollout_run(False)
    rollout = stack.mechanisms["rollout:p"]
    assert rollout.rolled_back and rollout.events[-1][1] == "rollback"
    assert rollout.events[-1][0] == pytest.approx(CANARY_AT_S + BAKE_S)
    errors = guarded.timeseries["outcome_server_error"]
    t = guarded.timeseries["t_s"]
    expected = 50.0 * 0.10 * 0.5 * BAKE_S  # rate x canary share x error probability x bake time
    assert errors.sum() == pytest.approx(expected, rel=0.35)
    assert errors[t >= CANARY_AT_S + BAKE_S + 5].sum() == 0, "nothing fails after the rollback"
    assert error_share(unguarded, 100) == pytest.approx(0.5, abs=0.06), "without rollback the whole pool is bad"


def test_rollout_is_judged_on_server_errors_only_not_on_a_dependency_outage():
    """A good version baking while the database is down sees only dependency errors: no rollback."""
    pool = plain_pool("p", 4, database="db")
    pool["rollout"] = {"at_s": 10, "steps_percent": [50, 100], "bake_time_s": 20}
    data = scenario([pool], [client(20.0)], duration_s=80, policies={"retry": {"max_attempts": 1}},
                    databases=[{"name": "db", "connect_timeout_s": 0.5}],
                    faults=[{"id": "dbdown", "kind": "database_down", "target": {"name": "db"}, "at_s": 5,
                             "duration_s": 40}])
    res, stack = run_with(data)
    rollout = stack.mechanisms["rollout:p"]
    assert res.summary["accounting"]["outcomes"]["dependency_error"] > 100
    assert not rollout.rolled_back and [e[1] for e in rollout.events] == ["step", "step", "done"]


def test_rollout_composes_with_fault_factors_and_is_a_cascade_root():
    """The new version adds its error probability to what faults set, and its rollback removes only its own
    share; each replica switched records a transition naming the rollout (a root of the cascade)."""
    from sim.analysis.cascade import cascade_graph, fault_node

    pool = plain_pool("p", 4)
    pool["rollout"] = {"at_s": 20, "error_probability": 0.6, "steps_percent": [25, 100], "bake_time_s": 30}
    data = scenario([pool], [client(20.0)], duration_s=80, policies={"retry": {"max_attempts": 1}},
                    faults=[{"id": "bug", "kind": "error_rate", "target": {"name": "p-0"}, "at_s": 10,
                             "duration_s": 20, "error_percent": 20}])
    seen: list[float] = []

    def sample(stack: Any) -> None:
        seen.append(stack.by_name["p-0"].error_probability)

    res, stack = run_with(data, [(t, sample) for t in (15.0, 25.0, 40.0, 60.0)])
    rollout = stack.mechanisms["rollout:p"]
    assert rollout.rolled_back and rollout.events[-1][0] == pytest.approx(50.0)
    assert seen == pytest.approx([0.2, 0.8, 0.6, 0.0])
    switched = [t for t in res.transitions if t.cause.source == "rollout:p" and t.cause.kind == "fault"]
    assert [(t.t_s, t.component) for t in switched] == [(20.0, "p-0")]
    assert fault_node("rollout:p") in cascade_graph(res.transitions, res.fault_log)


# --- liveness probes -------------------------------------------------------------------------------

def liveness_run(enabled: bool) -> RunResult:
    data = scenario([plain_pool("p", 4)], [client(20.0, timeout_s=10.0)], duration_s=120,
                    policies={"retry": {"max_attempts": 1}, "liveness": {"enabled": enabled}})

    def slow(stack: Any) -> None:
        # its health endpoint now answers in 1.5 s > timeout 1 s
        stack.by_name["p-2"].effects.set("test", "slow_factor", 30.0)

    return run_with(data, [(20.0, slow)])[0]


def test_liveness_probe_restarts_a_merely_slow_server():
    control = liveness_run(False)
    probed = liveness_run(True)
    kills = [t for t in probed.transitions if t.cause.mechanism == "liveness_probe"]
    assert kills and {t.component for t in kills} == {"p-2"}, "only the slow replica is restarted"
    assert all(t.t_s >= 20 + 2 * 10 for t in kills), "after failure_threshold probes"
    assert not [t for t in control.transitions if t.cause.mechanism == "liveness_probe"]
    assert probed.summary["measured"]["outcomes"]["server_error"] > 0, "the restart loses its in-flight work"
    assert control.summary["measured"]["outcomes"]["server_error"] == 0


# --- where retries happen: layers multiply ------------------------------------------------------------

@pytest.mark.parametrize(("layer", "per_request"), [("client", 3), ("load_balancer", 3), ("both", 9)])
def test_retry_layers_multiply(layer, per_request):
    data = scenario([plain_pool("p", 4)], [client(1.0)], duration_s=100,
                    policies={"retry": {"max_attempts": 3, "backoff_base_s": 0.01, "layer": layer}})

    def broken(stack: Any) -> None:
        for server in stack.servers:
            server.effects.set("test", "error_share", 1.0)

    result, _ = run_with(data, [(0.0, broken)])
    assert result.summary["attempts_per_request"] == pytest.approx(per_request, rel=0.02)


# --- graceful degradation ----------------------------------------------------------------------------

def fallback_run(fallback: dict | None) -> RunResult:
    lb = {"name": "lb", "upstream": ["big"]}
    if fallback is not None:
        lb["fallback"] = fallback
    data = scenario([plain_pool("big", 2, queue=5), plain_pool("small", 2, mean_s=0.05, queue=50)],
                    [client(30.0)], lbs=[lb], duration_s=60, policies={"retry": {"max_attempts": 1}})
    return run_with(data)[0]


def test_fallback_to_a_smaller_pool_or_a_cache_counts_as_degraded():
    control = fallback_run(None)
    pool = fallback_run({"pool": "small"})
    cache = fallback_run({"cached_answer_ratio": 0.5})
    out_c = control.summary["measured"]["outcomes"]
    out_p = pool.summary["measured"]["outcomes"]
    out_k = cache.summary["measured"]["outcomes"]
    assert out_c["degraded"] == 0 and out_c["rejected"] > 0.2 * control.summary["measured"]["ended"]
    assert out_p["degraded"] > 0 and out_p["rejected"] < 0.1 * out_c["rejected"]
    assert out_p["success"] == pytest.approx(out_c["success"], rel=0.1), "full answers are counted apart"
    assert out_k["degraded"] == pytest.approx(0.5 * out_c["rejected"], rel=0.2)
    assert pool.summary["measured"]["served_ratio"] > 0.95 > control.summary["measured"]["served_ratio"]


# --- rate limiting, priority shedding and adaptive throttling -------------------------------------------

def classes_run(policies: dict) -> RunResult:
    clients = [client(15.0, name="paid", priority=1, timeout_s=5.0),
               client(15.0, name="free", client_class="free-tier", timeout_s=5.0)]
    data = scenario([plain_pool("p", 2, queue=40)], clients, duration_s=80,
                    policies={"retry": {"max_attempts": 1}, **policies})
    return run_with(data, record_requests=True)[0]


def test_rate_limit_answers_429_to_the_limited_class_only():
    limited = classes_run({"rate_limit": {"enabled": True, "classes": {"free-tier": {"rate_rps": 5, "burst": 5}}}})
    req = limited.requests
    free = req["outcome"][req["client"] == "free"]
    paid = req["outcome"][req["client"] == "paid"]
    assert np.mean(free == "rate_limited") == pytest.approx(2 / 3, abs=0.06), "5 of 15 rps pass"
    assert np.mean(paid == "rate_limited") == 0


def test_priority_shedding_serves_paid_before_free():
    control = classes_run({})  # 30 rps on 20 rps: both classes suffer alike
    prio = classes_run({"shedding": {"priority": True}})

    def avail(result: RunResult, name: str) -> float:
        req = result.requests
        mask = (req["client"] == name) & (req["arrival_s"] > 20)
        return float(np.mean(req["outcome"][mask] == "success"))

    assert abs(avail(control, "paid") - avail(control, "free")) < 0.1
    assert avail(prio, "paid") > 0.98
    assert avail(prio, "free") < avail(control, "free")


def test_adaptive_throttling_keeps_rejected_load_off_the_backend():
    def run_throttle(enabled: bool) -> tuple[RunResult, Any]:
        data = scenario([plain_pool("p", 1, queue=5)], [client(40.0)], duration_s=60,
                        policies={"retry": {"max_attempts": 1}, "throttling": {"enabled": enabled, "window_s": 10}})
        return run_with(data)

    _, control = run_throttle(False)
    throttled_result, throttled = run_throttle(True)
    accepted = throttled_result.summary["accounting"]["outcomes"]["success"]
    assert throttled.by_name["lb"].routed < 0.6 * control.by_name["lb"].routed
    assert throttled.by_name["lb"].routed == pytest.approx(2 * accepted, rel=0.25), "about K x accepts reach it"


# --- redundancy: database promotion, static stability, cells -------------------------------------------

def db_run(replica: dict | None) -> tuple[RunResult, Any]:
    db = {"name": "db", "connect_timeout_s": 1.0}
    if replica is not None:
        db["replica"] = replica
    data = scenario([plain_pool("p", 4, database="db")], [client(10.0)], duration_s=120,
                    policies={"retry": {"max_attempts": 1}}, databases=[db])

    def down(stack: Any) -> None:
        stack.by_name["db"].available = False

    return run_with(data, [(30.0, down)])


def test_database_replica_is_promoted_automatically():
    control, _ = db_run(None)
    promoted, stack = db_run({"detection_s": 10, "promotion_s": 10})
    when = stack.mechanisms["failover:db"].promotions
    assert len(when) == 1 and 30 + 20 <= when[0] <= 30 + 20 + 2 * 5
    assert window_mean(promoted, "success_ratio", 70, 120) > 0.99
    assert window_mean(control, "success_ratio", 70, 120) == 0


def test_replica_promotion_leaves_the_connection_pool_consistent():
    """Queries running when the primary failed finish on their own; after the promotion the pool never
    holds more than pool_size queries (resetting the count at promotion made it go negative)."""
    db = {"name": "db", "pool_size": 2, "connect_timeout_s": 30.0,
          "service_time_s": {"kind": "deterministic", "value": 8.0},
          "replica": {"detection_s": 0, "promotion_s": 1}}
    data = scenario([plain_pool("p", 4, database="db")], [client(2.0, timeout_s=100.0)], duration_s=60,
                    policies={"retry": {"max_attempts": 1}}, databases=[db],
                    faults=[{"id": "fo", "kind": "database_failover", "target": {"name": "db"}, "at_s": 20}])
    running = [0]
    seen: list[tuple[int, int]] = []

    def count_queries(stack: Any) -> None:
        db = stack.by_name["db"]
        start, done = db._start, db._done

        def counted_start(*args: Any) -> None:
            running[0] += 1
            start(*args)

        def counted_done(*args: Any) -> None:
            running[0] -= 1
            done(*args)

        db._start, db._done = counted_start, counted_done

    def sample(stack: Any) -> None:
        seen.append((stack.by_name["db"].busy, running[0]))

    _, stack = run_with(data, [(0.0, count_queries)] + [(k / 4, sample) for k in range(1, 240)])
    assert len(stack.mechanisms["failover:db"].promotions) == 1
    assert all(busy == real for busy, real in seen)
    assert max(real for _, real in seen) == 2


def test_static_stability_keeps_serving_from_last_known_good_discovery():
    def run_discovery(static: bool) -> RunResult:
        data = scenario([plain_pool("p", 4)], [client(10.0)], duration_s=90,
                        policies={"retry": {"max_attempts": 1}},
                        discovery={"ttl_s": 10.0, "static_stability": static})

        def dns_down(stack: Any) -> None:
            stack.discovery.available = False

        return run_with(data, [(30.0, dns_down)])[0]

    control = run_discovery(False)
    stable = run_discovery(True)
    assert window_mean(control, "success_ratio", 45, 90) == 0, "records expire one TTL after discovery fails"
    assert window_mean(stable, "success_ratio", 45, 90) > 0.99


def test_cells_with_a_thin_router_confine_a_cell_outage_to_its_users():
    def run_cells(selection: str) -> RunResult:
        lbs = [{"name": "lb-1", "upstream": ["cell-1"]}, {"name": "lb-2", "upstream": ["cell-2"]}]
        c = {"name": "c", "target": ["lb-1", "lb-2"], "users": 200, "lb_selection": selection,
             "arrival": {"kind": "poisson", "rate_rps": 20.0}}
        data = scenario([plain_pool("cell-1", 3), plain_pool("cell-2", 3)], [c], lbs=lbs, duration_s=120,
                        policies={"retry": {"max_attempts": 2, "backoff_base_s": 0.01}},
                        faults=[{"id": "cell-1-lost", "kind": "crash", "target": {"pool": "cell-1"},
                                 "at_s": 20, "restart": False}])
        return run_with(data, record_requests=True)[0]

    def hurt_and_spared(result: RunResult) -> tuple[float, float]:
        req = result.requests
        mask = req["arrival_s"] >= 20
        per: dict[int, list[bool]] = {}
        for user, outcome in zip(req["user"][mask].tolist(), req["outcome"][mask].tolist(), strict=True):
            per.setdefault(user, []).append(outcome == "success")
        avail = np.array([np.mean(v) for v in per.values()])
        return float(np.mean(avail < 0.1)), float(np.mean(avail > 0.99))

    hurt, spared = hurt_and_spared(run_cells("by_user"))
    assert hurt == pytest.approx(0.5, abs=0.05) and spared == pytest.approx(0.5, abs=0.05)
    hurt_random, spared_random = hurt_and_spared(run_cells("random"))
    assert hurt_random < 0.05 and spared_random < 0.5, "without cells every user sees some failures"


# --- safe change: disruption budget ----------------------------------------------------------------------

def test_disruption_budget_limits_how_many_replicas_maintenance_takes_at_once():
    def run_maintenance(max_unavailable: int) -> tuple[RunResult, Any]:
        pool = plain_pool("p", 4)
        pool["server"]["model_load_s"] = 10.0
        pool["maintenance"] = {"at_s": 20, "max_unavailable": max_unavailable, "restart_delay_s": 5}
        data = scenario([pool], [client(20.0)], duration_s=120, policies={
            "retry": {"max_attempts": 1}, "health_check": {"period_s": 1.0, "failure_threshold": 1}})
        return run_with(data)

    budget, stack = run_maintenance(1)
    no_budget, _ = run_maintenance(4)
    assert stack.mechanisms["maintenance:p"].max_concurrent == 1
    assert budget.summary["measured"]["availability"] > 0.98
    assert no_budget.summary["measured"]["availability"] < 0.9


# --- overall deadline and session affinity -------------------------------------------------------------

def test_overall_timeout_bounds_a_request_across_its_retries():
    data = scenario([plain_pool("p", 1, mean_s=5.0)], [client(2.0, timeout_s=1.0, overall_timeout_s=2.5)],
                    duration_s=40, policies={"retry": {"max_attempts": 10, "backoff_base_s": 0.1, "jitter": "none"}})
    result, _ = run_with(data, record_requests=True)
    latency = result.requests["latency_s"]
    assert latency.max() <= 2.5 + 1e-9
    assert result.summary["attempts_per_request"] < 4


def test_sticky_routing_concentrates_a_server_fault_on_its_users():
    def run_sticky(kind: str) -> RunResult:
        data = scenario([plain_pool("p", 5)], [client(20.0, users=100)], duration_s=100,
                        lbs=[{"name": "lb", "upstream": ["p"], "balancing": {"kind": kind}}],
                        policies={"retry": {"max_attempts": 1}})
        return run_with(data, [(0.0, failing(["p-1"]))], record_requests=True)[0]

    def zero_share(result: RunResult) -> float:
        return float(np.mean([a == 0 for a in customer_availability(result).values()]))

    assert zero_share(run_sticky("sticky")) == pytest.approx(0.2, abs=0.08), "one replica's users lose everything"
    assert zero_share(run_sticky("round_robin")) < 0.05


# --- the teaching pairs say what they show ------------------------------------------------------------

TEACHING_PAIRS = [
    ("retry-storm-no-budget", "retry-storm-budget"),
    ("retry-storm-no-budget", "retry-storm-token-bucket"),
    ("retry-storm-no-budget", "retry-storm-lifo-drop"),
    ("outlier-off", "outlier-ejection"),
    ("autoscaling-off", "autoscaling-on"),
    ("autoscaling-gpu-quota", "autoscaling-on"),
    ("zone-failover-no-headroom", "zone-failover-headroom"),
    ("canary-no-rollback", "canary-rollback"),
    ("maintenance-no-budget", "maintenance-budget"),
    ("database-no-replica", "database-replica-promotion"),
    ("discovery-no-static-stability", "discovery-static-stability"),
]


def _teaching(name: str) -> RunResult:
    from pathlib import Path

    from sim.experiment.run import run
    from sim.spec.loader import load_scenario

    return run(load_scenario(Path(__file__).parents[2] / "scenarios" / "teaching" / f"{name}.yaml"))


@pytest.fixture(scope="module")
def teaching_runs() -> dict[str, RunResult]:
    names = {n for pair in TEACHING_PAIRS for n in pair} | {"retry-storm-jitter-only"}
    return {n: _teaching(n) for n in sorted(names)}


@pytest.mark.parametrize(("before", "after"), TEACHING_PAIRS)
def test_teaching_pair_after_beats_before(teaching_runs, before, after):
    a = teaching_runs[before].summary["measured"]["availability"]
    b = teaching_runs[after].summary["measured"]["availability"]
    assert 1 - b < 0.5 * (1 - a), f"{after} should fail at most half as often: {b:.3f} vs {before} {a:.3f}"


def test_teaching_jitter_only_is_as_stuck_as_no_budget(teaching_runs):
    jitter = teaching_runs["retry-storm-jitter-only"].summary["measured"]["availability"]
    assert jitter < teaching_runs["retry-storm-no-budget"].summary["measured"]["availability"] + 0.05
