"""Cascades that must emerge from mechanisms, never from the fault: each test runs the same seed with
and without the fault (and, where it shows the mechanism, with the mechanism switched off).

(a) one crash in a pool near capacity: health checks shift its load to the survivors, which overload;
(b) a poison request walks through the pool on the client's retries, crashing server after server;
(c) a memory leak under load crash-loops the pool: every OOM kill shifts load to the others, whose
    memory then grows faster.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np

from sim import parse_scenario, run

SEED = 5


def pool_scenario(faults: list[dict], rate_rps: float, retry: dict | None = None, balancing: str = "round_robin",
                  duration_s: float = 120.0) -> Any:
    """Four plain replicas (0.1 s, one at a time: 40 rps in all) behind one load balancer with health checks."""
    return parse_scenario({
        "name": "cascade",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["p"]}],
            "pools": [{"name": "p", "replicas": 4,
                       "server": {"mode": "plain", "concurrency": 1, "queue_capacity": 50, "model_load_s": 5.0,
                                  "service_time_s": {"kind": "deterministic", "value": 0.1}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": 10.0,
                                  "retry": retry or {"max_attempts": 1},
                                  "arrival": {"kind": "poisson", "rate_rps": rate_rps}}]},
        "policies": {"health_check": {"period_s": 2, "failure_threshold": 2},
                     "balancing": {"kind": balancing}},
        "faults": copy.deepcopy(faults),
        "run": {"duration_s": duration_s, "seed": SEED},
    })


def test_a_crash_near_capacity_overloads_the_survivors():
    crash = [{"id": "crash-p0", "kind": "crash", "target": {"name": "p-0"}, "at_s": 30, "restart": False}]
    hit = run(pool_scenario(crash, rate_rps=34.0))  # 85 % of 4 replicas, 113 % of the 3 survivors
    control = run(pool_scenario([], rate_rps=34.0))
    assert not [t for t in control.transitions if t.state == "overloaded"]
    down = next(t for t in hit.transitions if t.component == "p-0" and t.state == "down")
    assert down.cause.source == "crash-p0"
    overloaded = [t for t in hit.transitions if t.state == "overloaded"]
    assert {t.component for t in overloaded} == {"p-1", "p-2", "p-3"}
    for t in overloaded:
        assert t.cause.kind == "mechanism" and t.cause.mechanism == "queueing"  # not scripted by the fault
        assert down.id in t.cause.parents and "load shifted from p-0" in t.cause.detail
        assert t.t_s > 30
    assert hit.summary["measured"]["availability"] < control.summary["measured"]["availability"]


def _poison_crashes(res) -> dict[str, list[str]]:
    """Request → servers it crashed, in order, read from the crash causes."""
    walks: dict[str, list[str]] = {}
    for t in res.transitions:
        if t.state == "down" and t.cause.mechanism == "poison_request":
            rid = re.search(r"poison request (\S+) ", t.cause.detail).group(1)
            walks.setdefault(rid, []).append(t.component)
    return walks


def test_b_a_poison_request_walks_through_the_pool_on_retries():
    poison = [{"id": "poison", "kind": "poison_request", "target": {"pool": "p"}, "at_s": 20, "duration_s": 30,
               "poison_percent": 0.5, "restart_delay_s": 5}]
    retry = {"max_attempts": 4, "backoff_base_s": 0.05, "backoff_cap_s": 0.5}
    hit = run(pool_scenario(poison, rate_rps=10.0, retry=retry, balancing="random"))
    control = run(pool_scenario([], rate_rps=10.0, retry=retry, balancing="random"))
    assert not [t for t in control.transitions if t.state == "down"]
    walks = _poison_crashes(hit)
    crashed = {s for servers in walks.values() for s in servers}
    assert len(crashed) >= 3
    assert max(len(set(servers)) for servers in walks.values()) >= 2  # one request, several servers
    marks = {t.component: t.id for t in hit.transitions if t.cause.source == "poison"}
    for t in hit.transitions:
        if t.state == "down" and t.component.startswith("p-"):
            assert t.cause.kind == "mechanism" and t.cause.parents == (marks[t.component],)
    # without retries each poison request can crash one server only: the walk is the retries' doing
    no_retry = run(pool_scenario(poison, rate_rps=10.0, balancing="random"))
    assert all(len(servers) == 1 for servers in _poison_crashes(no_retry).values())
    assert sum(map(len, walks.values())) > sum(map(len, _poison_crashes(no_retry).values()))


def test_c_a_memory_leak_under_load_crash_loops_the_pool():
    leak = [{"id": "leak", "kind": "memory_leak", "target": {"pool": "p"}, "at_s": 10, "memory_limit_mb": 4096,
             "baseline_mb": 3896, "leak_mb_per_request": 1.0, "restart_delay_s": 2}]
    hit = run(pool_scenario(leak, rate_rps=30.0, balancing="random", duration_s=150))
    control = run(pool_scenario([], rate_rps=30.0, balancing="random", duration_s=150))
    light = run(pool_scenario(leak, rate_rps=3.0, balancing="random", duration_s=150))
    assert not [t for t in control.transitions if t.state == "down"]
    assert not [t for t in light.transitions if t.state == "down"]  # the same leak at a tenth of the load
    ooms = [t for t in hit.transitions if t.cause.mechanism == "oom"]
    by_server: dict[str, list[float]] = {}
    for t in ooms:
        by_server.setdefault(t.component, []).append(t.t_s)
    assert set(by_server) == {"p-0", "p-1", "p-2", "p-3"}
    assert all(len(times) >= 2 for times in by_server.values())  # crash loop: killed again after restarting
    marks = {t.component: t.id for t in hit.transitions if t.cause.source == "leak"}
    assert all(t.cause.kind == "mechanism" and t.cause.parents == (marks[t.component],) for t in ooms)
    # one after another, faster and faster: each kill sends its share to the others, whose memory grows faster
    first = sorted(times[0] for times in by_server.values())
    assert len(set(first)) == 4
    gaps_after_first = np.diff(first)
    assert np.mean(gaps_after_first) < first[0] - 10
