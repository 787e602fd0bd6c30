"""Invariants over small random scenarios (hypothesis): conservation of requests, determinism, bounds.

Scenarios mix plain and LLM replicas, timeouts, retries with every jitter, cancellation, health
checks, a database and crash faults. A request that ended twice makes the client raise, so simply
finishing a run proves "no request ends twice".
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import parse_scenario, run
from sim.engine.request import OUTCOMES
from sim.resilience.policies.retry import JITTERS
from tests.helpers import run_live

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def scenarios(draw) -> dict[str, Any]:
    duration_s = draw(st.sampled_from([5.0, 12.0, 20.0]))
    mode = draw(st.sampled_from(["plain", "llm"]))
    if mode == "plain":
        server = {
            "mode": "plain",
            "service_time_s": draw(st.sampled_from([
                {"kind": "exponential", "mean": 0.05}, {"kind": "deterministic", "value": 0.3},
                {"kind": "lognormal", "mean": 0.2, "cv": 2.0},
            ])),
            "concurrency": draw(st.integers(1, 4)),
            "queue_capacity": draw(st.integers(0, 40)),
            "model_load_s": draw(st.sampled_from([0.0, 1.0])),
        }
        tokens: dict[str, Any] = {}
    else:
        server = {
            "mode": "llm",
            "max_batch_size": draw(st.integers(1, 8)),
            "kv_cache_tokens": draw(st.integers(600, 6_000)),
            "queue_capacity": draw(st.integers(0, 40)),
            "model_load_s": draw(st.sampled_from([0.0, 2.0])),
        }
        tokens = {"prompt_tokens": {"kind": "uniform", "low": 1, "high": 800},
                  "output_tokens": {"kind": "uniform", "low": 1, "high": 120}}
    replicas = draw(st.integers(1, 4))
    pool: dict[str, Any] = {"name": "p", "replicas": replicas, "zones": ["a", "b"], "server": server}
    topology: dict[str, Any] = {
        "zones": ["a", "b"],
        "network": {"cross_zone_latency_ms": draw(st.sampled_from([0.0, 2.0]))},
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
        "pools": [pool],
    }
    if draw(st.booleans()):
        topology["databases"] = [{"name": "db", "pool_size": draw(st.integers(1, 4)), "connect_timeout_s": 0.2,
                                  "queue_capacity": draw(st.integers(0, 10))}]
        pool["database"] = "db"
        pool["db_calls_per_request"] = draw(st.integers(0, 2))
    if draw(st.booleans()):
        topology["discovery"] = {"ttl_s": 5.0}
    timeout = draw(st.sampled_from([None, 0.3, 2.0]))
    client = {
        "name": "c", "target": ["lb"], "zone": draw(st.sampled_from([None, "a", "b"])),
        "arrival": draw(st.sampled_from([
            {"kind": "poisson", "rate_rps": draw(st.floats(0.5, 40.0))},
            {"kind": "gamma", "rate_rps": draw(st.floats(0.5, 40.0)), "cv": 3.0,
             "schedule": [{"at_s": duration_s / 2, "rate_rps": draw(st.floats(0.0, 60.0))}]},
        ])),
        "timeout_s": timeout,
        "cancel_on_timeout": draw(st.booleans()),
        "retry": {"max_attempts": draw(st.integers(1, 4)), "backoff_base_s": draw(st.sampled_from([0.0, 0.05, 0.5])),
                  "jitter": draw(st.sampled_from(JITTERS.names()))},
        **tokens,
    }
    faults = []
    for i in range(draw(st.integers(0, 2))):
        fault: dict[str, Any] = {
            "id": f"crash-{i}", "kind": "crash",
            "target": draw(st.sampled_from([{"name": "p-0"}, {"pool": "p"}, {"pool": "p", "zone": "a"}])),
            "at_s": draw(st.floats(0.0, duration_s * 0.8)),
            "restart": draw(st.booleans()),
            "restart_delay_s": draw(st.sampled_from([0.0, 1.0])),
        }
        if draw(st.booleans()):
            fault["duration_s"] = round(duration_s * 0.1, 3)
        faults.append(fault)
    health = {"enabled": draw(st.booleans()), "period_s": 1.0, "failure_threshold": draw(st.integers(1, 3))}
    return {
        "name": "prop",
        "topology": topology,
        "workload": {"clients": [client]},
        "faults": faults,
        "policies": {"health_check": health,
                     "balancing": {"kind": draw(st.sampled_from(["round_robin", "random", "least_outstanding",
                                                                 "power_of_two"]))}},
        "run": {"duration_s": duration_s, "bucket_s": 1.0, "warmup_s": 1.0},
    }


def _check_conservation(res) -> None:
    acc = res.summary["accounting"]
    assert acc["balanced"] is True
    assert acc["arrivals"] == acc["ended"] + acc["in_flight_at_end"]
    assert acc["in_flight_at_end"] >= 0
    assert sum(acc["outcomes"].values()) == acc["ended"]
    assert set(acc["outcomes"]) == set(OUTCOMES)
    assert res.summary["attempts"] >= acc["arrivals"]
    ts = res.timeseries
    assert np.all(ts["in_flight"] >= 0)
    assert int(ts["arrivals"].sum()) == acc["arrivals"]
    assert int(ts["ended"].sum()) == acc["ended"]
    assert int(ts["in_flight"][-1]) == acc["in_flight_at_end"]
    outcome_sum = sum(ts[f"outcome_{o}"] for o in OUTCOMES)
    assert np.array_equal(outcome_sum, ts["ended"])
    for name, comp in res.components.items():
        if getattr(comp, "kind", "") == "server":
            assert comp.outstanding >= 0, name
            if hasattr(comp, "kv_capacity") and comp.batch > 1:
                assert comp.kv_used_tokens <= comp.kv_capacity, name
    m = res.summary["measured"]
    if m["ended"]:
        assert 0.0 <= m["availability"] <= m["served_ratio"] <= 1.0


def _lifetime_bound_s(scenario) -> float | None:
    """Longest a request can live when every attempt has a timeout: attempts x timeout + the backoffs."""
    client = scenario.workload.clients[0]
    if client.timeout_s is None:
        return None
    retry = client.retry or scenario.policies.retry
    # The n-th wait is at most the capped exponential; decorrelated jitter draws up to 3 x the previous wait
    # instead (AWS), the first from the base: base x 3^n.
    growth = (3.0, 1) if retry.jitter == "decorrelated" else (retry.multiplier, 0)
    backoffs = sum(min(retry.backoff_cap_s, retry.backoff_base_s * growth[0] ** (n - 1 + growth[1]))
                   for n in range(1, retry.max_attempts))
    return retry.max_attempts * client.timeout_s + backoffs + 0.5


@SETTINGS
@given(data=scenarios(), seed=st.integers(0, 2**16))
def test_conservation(data, seed):
    scenario = parse_scenario(data)
    res = run_live(scenario, seed=seed, record_requests=True)
    _check_conservation(res)
    bound = _lifetime_bound_s(scenario)
    if bound is not None:
        # Counted independently (the clients' live requests): none outlives its timeouts and backoffs,
        # so a request the model dropped on the floor would show up here as too old.
        assert res.summary["accounting"]["oldest_in_flight_age_s"] <= bound
    rq = res.requests
    ids = list(zip(rq["client"].tolist(), rq["id"].tolist(), strict=True))
    assert len(ids) == len(set(ids)), "a request was recorded twice"
    assert len(ids) == res.summary["accounting"]["ended"]
    if len(ids):
        assert np.all(rq["latency_s"] >= 0) and np.all(rq["attempts"] >= 1)
        assert np.all(rq["end_s"] <= res.scenario.run.duration_s)
        max_attempts = res.scenario.workload.clients[0].retry.max_attempts
        assert np.all(rq["attempts"] <= max_attempts)
        ttft, lat, wait = rq["ttft_s"], rq["latency_s"], rq["wait_s"]
        has_ttft = ~np.isnan(ttft)
        assert np.all(ttft[has_ttft] <= lat[has_ttft] + 1e-9)  # the first token comes before the last
        assert np.all(wait[~np.isnan(wait)] >= -1e-12)
        served = np.isin(rq["outcome"], ["success", "wrong_answer", "degraded"])
        assert not np.any(served & ~has_ttft)  # every served request has a first-token time


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=scenarios(), seed=st.integers(0, 2**16))
def test_determinism(data, seed):
    scenario = parse_scenario(data)
    first = json.dumps(run(scenario, seed=seed).summary, sort_keys=True)
    again = json.dumps(run(parse_scenario(data), seed=seed).summary, sort_keys=True)
    assert first == again
