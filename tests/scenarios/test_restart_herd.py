"""The restart herd (replayed in scenarios/incidents/: OpenAI 2024-08-16, Google 2025-06-12): replicas
restarting at once overload the shared database their start-up queries go to; without randomized
exponential backoff the herd keeps it saturated, with full-jitter exponential backoff it drains.
Compared on the same seed, with a control whose replicas have no start-up queries.

Set-up: 24 plain replicas crash together at t = 60 s (restart after 5 s, 5 s model load); each
start-up runs 3 sequential queries (1 s each) on a database with 4 connections, a 30-slot wait queue
and a 30 s connect timeout; the replica gives up on a query after 5 s (the database still runs it).
Capacity: 4 queries/s, so the 72 queries of a clean restart need 18 s; a herd retrying every second
sends far more than that and most of the database's work is for queries already given up on.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.experiment.run import run
from sim.observe.result import RunResult
from sim.resilience.policies.rate_limit import RateLimiter
from sim.spec.loader import ScenarioError, parse_scenario
from sim.spec.policies import RateLimitClassSpec, RateLimitSpec

CRASH_AT_S = 60.0
RESTART_DELAY_S = 5.0
MODEL_LOAD_S = 5.0
REPLICAS = 24

FIXED = {"max_attempts": 100_000, "backoff_base_s": 1, "backoff_cap_s": 1, "multiplier": 1, "jitter": "none"}
"""Retry every second, no jitter: no randomized exponential backoff."""
JITTERED = {"max_attempts": 100_000, "backoff_base_s": 1, "backoff_cap_s": 60, "multiplier": 2, "jitter": "full"}


def herd(retry: dict[str, Any] | None, duration_s: float = 900.0, seed: int = 1) -> RunResult:
    pool: dict[str, Any] = {
        "name": "api", "replicas": REPLICAS,
        "server": {"mode": "plain", "concurrency": 4, "model_load_s": MODEL_LOAD_S, "queue_capacity": 50,
                   "service_time_s": {"kind": "exponential", "mean": 0.02}},
    }
    if retry is not None:
        pool["startup"] = {"database": "config-db", "db_calls": 3, "query_timeout_s": 5, "retry": retry}
    data = {
        "name": "restart-herd",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["api"]}],
            "pools": [pool],
            "databases": [{"name": "config-db", "pool_size": 4, "queue_capacity": 30, "connect_timeout_s": 30,
                           "service_time_s": {"kind": "lognormal", "mean": 1.0, "cv": 0.3}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": 5,
                                  "arrival": {"kind": "poisson", "rate_rps": 20}}]},
        "faults": [{"id": "crash-all", "kind": "crash", "target": {"pool": "api"}, "at_s": CRASH_AT_S,
                    "restart_delay_s": RESTART_DELAY_S}],
        "policies": {"health_check": {"period_s": 2, "failure_threshold": 1}},
        "run": {"duration_s": duration_s, "warmup_s": 0, "seed": seed, "bucket_s": 10},
    }
    return run(parse_scenario(data), seed)


def all_healthy_s(result: RunResult) -> float | None:
    """Time (after the crash) at which the last replica became healthy; None if some never did."""
    last: dict[str, float] = {}
    for t in result.transitions:
        if t.component.startswith("api-") and t.t_s > CRASH_AT_S and t.state == "healthy":
            last[t.component] = t.t_s
    return max(last.values()) - CRASH_AT_S if len(last) == REPLICAS else None


def test_control_without_startup_recovers_after_restart_delay_and_model_load() -> None:
    assert all_healthy_s(herd(None, duration_s=200)) == RESTART_DELAY_S + MODEL_LOAD_S


def test_jittered_exponential_backoff_drains_the_herd_much_faster_than_fixed_retries() -> None:
    jittered = all_healthy_s(herd(JITTERED))
    fixed = all_healthy_s(herd(FIXED))
    clean_s = RESTART_DELAY_S + MODEL_LOAD_S + REPLICAS * 3 * 1.0 / 4
    assert jittered is not None
    assert jittered > clean_s  # the herd still costs something with backoff
    assert jittered < 4 * clean_s
    assert fixed is None or fixed > 3 * jittered  # stuck to the end of the run, or a long tail


def test_failed_startups_name_the_overloaded_database() -> None:
    result = herd(FIXED, duration_s=200)
    by_id = {t.id: t for t in result.transitions}
    blamed = [t for t in result.transitions
              if t.component.startswith("api-") and t.state == "starting" and t.cause.mechanism == "startup"]
    assert blamed
    parents = [by_id[p] for t in blamed for p in t.cause.parents]
    assert any(p.component == "config-db" and p.state == "overloaded" for p in parents)


def test_startup_gives_up_after_max_attempts_and_the_process_restarts() -> None:
    result = herd({"max_attempts": 2, "backoff_base_s": 1, "backoff_cap_s": 1, "jitter": "none"}, duration_s=200)
    exits = [t for t in result.transitions
             if t.component.startswith("api-") and t.state == "down" and t.cause.mechanism == "startup"]
    assert exits
    assert all("process exits" in t.cause.detail for t in exits)
    restarts = [t for t in result.transitions if t.state == "starting" and t.cause.mechanism == "restart"
                and t.t_s > CRASH_AT_S + RESTART_DELAY_S]
    assert restarts  # the orchestrator restarted the processes that exited


def _spec_error(pool_update: dict[str, Any], databases: list[dict] | None = None) -> str:
    pool = {"name": "api", "replicas": 2, "server": {"mode": "plain"}, **pool_update}
    data = {"name": "x", "topology": {"load_balancers": [{"name": "lb", "upstream": ["api"]}], "pools": [pool],
                                      "databases": databases or []},
            "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1}}]}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    return str(err.value)


def test_bad_startup_and_memory_sections_are_one_clear_line() -> None:
    assert _spec_error({"startup": {"database": "nope"}}) == \
        "topology: pools[0].startup.database: no database named 'nope'"
    assert "startup: retry.backoff_base_s: must be above 0" in _spec_error(
        {"startup": {"database": "db", "retry": {"backoff_base_s": 0, "backoff_cap_s": 1}}}, [{"name": "db"}])
    assert "memory: readiness_limit_mb: must be above baseline_mb" in _spec_error(
        {"memory": {"per_request_mb": 1, "readiness_limit_mb": 100}})


def test_rate_limit_switches_on_at_from_s() -> None:
    spec = RateLimitSpec(enabled=True, from_s=100.0, classes={"c": RateLimitClassSpec(rate_rps=1.0, burst=2.0)})
    limiter = RateLimiter(spec, {})
    assert all(limiter.allow("c", 50.0) for _ in range(100))  # before from_s everything passes
    assert [limiter.allow("c", 100.0) for _ in range(3)] == [True, True, False]  # a full bucket of 2 at from_s
    assert limiter.allow("c", 101.0)  # refilled at 1 per second
