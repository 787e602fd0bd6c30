"""Small scenarios for the analysis tests (seconds of simulated time, well under a second to run)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.spec import load_scenario, parse_scenario


def near_capacity(*, health: bool = True, faults: bool = True, seed: int = 1, monitoring: dict | None = None,
                  description: str = "") -> Any:
    """Three single-slot replicas at 73 % load; api-0 crashes at 60 s for 80 s (no restart until it ends).

    The two survivors get 11 req/s each against a service rate of 10: their queues fill and they become
    overloaded, pushed by the crash (a cascade of depth 2 or more). With health checks, the load
    balancer ejects api-0 (the cascade leaves the pool); without, round robin keeps sending it a third
    of the attempts, whose retries land on the survivors (the cascade stays in the pool).
    """
    data: dict[str, Any] = {
        "name": "near-capacity",
        "description": description,
        "topology": {"zones": ["zone-a", "zone-b"],
                     "load_balancers": [{"name": "lb-1", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 3, "zones": ["zone-a", "zone-b"],
                                "server": {"mode": "plain", "concurrency": 1, "queue_capacity": 30,
                                           "service_time_s": {"kind": "exponential", "mean": 0.1}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb-1"], "users": 500, "timeout_s": 10,
                                  "arrival": {"kind": "poisson", "rate_rps": 22}}]},
        "faults": [{"id": "crash-one", "kind": "crash", "target": {"name": "api-0"}, "at_s": 60,
                    "duration_s": 80, "restart": False}] if faults else [],
        "policies": {"health_check": {"enabled": health, "period_s": 2}},
        "slo": {"availability": 0.95, "window_s": 10},
        "run": {"duration_s": 200, "warmup_s": 10, "bucket_s": 1, "seed": seed},
    }
    if monitoring is not None:
        data["monitoring"] = monitoring
    return parse_scenario(data)


def retry_storm(*, max_attempts: int = 5, budget: bool = False, seed: int = 1, recovery_window_s: float = 150,
                duration_s: float = 240) -> Any:
    """Two 4-slot replicas (80 req/s) at 60 % load, a 20 s surge to 150 %, a 1 s client timeout.

    During the surge the queueing delay passes the timeout; abandoned attempts are still served
    (wasted work). Five attempts with no retry budget multiply the load by about 5 for good: stuck.
    An Envoy retry budget (or no retries) lets the queue drain once the surge ends: recovered.
    """
    retry: dict[str, Any] = {"max_attempts": max_attempts, "backoff_base_s": 0.05, "backoff_cap_s": 0.5}
    if budget:
        retry["budget"] = {}
    return parse_scenario({
        "name": "retry-storm",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 2,
                                "server": {"mode": "plain", "concurrency": 4,
                                           "service_time_s": {"kind": "exponential", "mean": 0.1}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb"], "users": 2000, "timeout_s": 1.0,
                                  "retry": retry,
                                  "arrival": {"kind": "poisson", "rate_rps": 48,
                                              "schedule": [{"at_s": 60, "rate_rps": 120},
                                                           {"at_s": 80, "rate_rps": 48}]}}]},
        "policies": {"health_check": {"enabled": False}},
        "slo": {"availability": 0.95, "window_s": 10, "recovery_window_s": recovery_window_s},
        "run": {"duration_s": duration_s, "warmup_s": 10, "bucket_s": 1, "seed": seed},
    })


def short_demo(duration_s: float = 480) -> Any:
    """The built-in demo (two-replicas-crash at 300 s), cut short after the cascade has played out."""
    demo = load_scenario("builtin:demo")
    return demo.model_copy(update={"run": demo.run.model_copy(update={"duration_s": duration_s})})


def fake_run(n: int, bucket_s: float, ended, success, lat=None, **slo):
    """A minimal run-like object with given per-bucket counts."""
    from sim.spec.slo import SLOSpec

    ts = {"t_s": np.arange(n) * bucket_s, "ended": np.asarray(ended), "arrivals": np.asarray(ended),
          "attempts": np.asarray(ended), "in_flight": np.zeros(n, dtype=int),
          "outcome_success": np.asarray(success), "outcome_timeout": np.asarray(ended) - np.asarray(success)}
    run_ = SimpleNamespace(bucket_s=bucket_s, duration_s=n * bucket_s, warmup_s=0.0)
    scen = SimpleNamespace(run=run_, slo=SLOSpec(**slo), faults=[], workload=SimpleNamespace(clients=[]))
    return SimpleNamespace(timeseries=ts, scenario=scen, histograms={"latency": lat} if lat is not None else {},
                           fault_log=[])
