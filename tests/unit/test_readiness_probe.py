"""Readiness probes see what a real probe sees: the network between the load balancer and the replica,
and a health endpoint slowed down with the replica."""

from __future__ import annotations

from sim import parse_scenario, run


def _scenario(faults: list[dict]) -> dict:
    return {
        "name": "readiness",
        "topology": {
            "zones": ["a", "b"],
            "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
            "pools": [{"name": "p", "replicas": 4, "zones": ["a", "b"],
                       "server": {"mode": "plain", "concurrency": 4,
                                  "service_time_s": {"kind": "exponential", "mean": 0.05}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 20},
                                  "timeout_s": 5, "retry": {"max_attempts": 1}}]},
        "faults": faults,
        "run": {"duration_s": 120},
    }


def _ejected(result) -> list[str]:
    return [t.cause.detail.split(":")[0] for t in result.transitions
            if t.component == "lb" and t.cause.detail.startswith("ejected")]


def test_a_partitioned_replica_is_ejected_and_its_errors_stop():
    faults = [{"id": "cut", "kind": "partition", "between": ["lb", "p-1"], "at_s": 20, "duration_s": 80}]
    result = run(parse_scenario(_scenario(faults)))
    control = run(parse_scenario(_scenario([])))
    print(_ejected(result), result.summary["measured"]["failures"])
    assert _ejected(result) == ["ejected p-1"]
    assert _ejected(control) == []
    failed = result.summary["measured"]["failures"].get("network_error", 0)
    # about a quarter of 20 req/s until 3 failed probes 10 s apart (at most ~30 s): far fewer than 80 s of it
    assert 0 < failed < 0.25 * 20 * 40


def test_a_badly_throttled_replica_fails_readiness_but_a_mildly_slow_one_does_not():
    def slow(factor: float) -> list[dict]:
        return [{"id": "hot", "kind": "thermal_throttle", "target": {"name": "p-2"}, "at_s": 20,
                 "duration_s": 80, "slow_factor": factor}]

    assert _ejected(run(parse_scenario(_scenario(slow(40.0))))) == ["ejected p-2"]
    assert _ejected(run(parse_scenario(_scenario(slow(2.0))))) == []
