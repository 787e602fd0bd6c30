"""Fault holds and the server lifecycle: a hold never brings a restart forward, a drain stops a replica
that is starting, and a leak does not overwrite the pool's own memory model."""

from __future__ import annotations

import yaml

from sim import parse_scenario
from tests.helpers import run_live

BASE = """
name: holds
topology:
  zones: [a, b]
  load_balancers:
    - {name: lb, zone: a, upstream: [p]}
  pools:
    - {name: p, replicas: 4, zones: [a, b], server: {mode: plain, concurrency: 2, queue_capacity: 50,
       model_load_s: 5, service_time_s: {kind: exponential, mean: 0.1}}}
workload:
  clients:
    - {name: u, target: [lb], arrival: {kind: poisson, rate_rps: 10}, timeout_s: 10}
policies:
  health_check: {period_s: 2, failure_threshold: 2}
run: {duration_s: 150, seed: 1, bucket_s: 5}
"""


def _run(faults: list[dict], patch=None):
    data = yaml.safe_load(BASE)
    data["faults"] = faults
    if patch:
        patch(data)
    return run_live(parse_scenario(data))


def _states(result, name: str) -> list[tuple[float, str]]:
    return [(round(t.t_s, 2), t.state) for t in result.transitions if t.component == name]


def test_a_released_hold_does_not_bring_a_pending_restart_forward():
    result = _run([
        {"id": "c", "kind": "crash", "target": {"name": "p-1"}, "at_s": 10, "restart_delay_s": 60},
        {"id": "g", "kind": "gpu_lost", "target": {"name": "p-1"}, "at_s": 12, "replace_s": 5},
    ])
    states = _states(result, "p-1")
    print(states)
    assert (70.0, "starting") in states and (75.0, "healthy") in states
    assert not any(state == "starting" and t < 70 for t, state in states)


def test_a_drain_stops_a_replica_that_is_starting_until_the_window_ends():
    result = _run([
        {"id": "c", "kind": "crash", "target": {"name": "p-1"}, "at_s": 10, "restart_delay_s": 3},
        {"id": "dr", "kind": "drain", "target": {"name": "p-1"}, "at_s": 15, "duration_s": 60},
    ])
    states = _states(result, "p-1")
    print(states)
    assert (15.0, "down") in states
    assert not any(state == "healthy" and 15 <= t < 75 for t, state in states)
    assert (80.0, "healthy") in states


def test_a_leak_adds_growth_to_the_pools_memory_model_without_replacing_it():
    def with_memory(d):
        d["topology"]["pools"][0]["memory"] = {"limit_mb": 1000, "baseline_mb": 500, "per_request_mb": 20}

    result = _run([{"id": "ml", "kind": "memory_leak", "target": {"name": "p-0"}, "at_s": 10, "duration_s": 50,
                    "memory_limit_mb": 4000, "baseline_mb": 100, "leak_mb_per_request": 1}], with_memory)
    server = result.components["p-0"]
    memory = server.memory
    assert (memory.limit_mb, memory.baseline_mb, memory.per_request_mb) == (1000, 500, 20)
    assert server.effects["leak_mb_per_request"] == 0  # the leak is fixed at the end of its window


def test_server_errors_count_a_replicas_own_errors_not_work_lost_in_a_crash():
    """What a rollout judges: a crash (zone outage, OOM) losing in-flight work is not the version's error."""
    def slow(d):
        d["topology"]["pools"][0]["server"]["service_time_s"] = {"kind": "deterministic", "value": 2.0}

    crashed = _run([{"id": "c", "kind": "crash", "target": {"name": "p-1"}, "at_s": 10, "restart_delay_s": 3}],
                   slow)
    erring = _run([{"id": "e", "kind": "error_rate", "target": {"name": "p-1"}, "at_s": 10, "duration_s": 30,
                    "error_percent": 50}])
    lost = crashed.components["p-1"].failed
    print(lost, erring.components["p-1"].server_errors)
    assert lost > 0  # the crash did lose work (answered server_error)
    assert crashed.components["p-1"].server_errors == 0
    assert erring.components["p-1"].server_errors > 0
