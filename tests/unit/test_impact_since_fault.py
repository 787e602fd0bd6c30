"""Blast radius from the first fault on: checked exactly against per-request records."""

from __future__ import annotations

import numpy as np

from sim import parse_scenario, run
from sim.analysis import analyze


def test_impact_since_the_first_fault_matches_per_request_records():
    scenario = parse_scenario({
        "name": "impact",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["p"]}],
            "pools": [{"name": "p", "replicas": 3,
                       "server": {"mode": "plain", "concurrency": 2, "queue_capacity": 3,
                                  "service_time_s": {"kind": "exponential", "mean": 0.1}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "users": 300, "timeout_s": 2,
                                  "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "poisson", "rate_rps": 40}}]},
        "faults": [{"id": "bugs", "kind": "error_rate", "target": {"pool": "p"}, "at_s": 60, "duration_s": 20,
                    "error_percent": 40}],
        "run": {"duration_s": 120, "warmup_s": 10},
    })
    result = run(scenario, record_requests=True)
    br = analyze(result)["cascade"]["blast_radius"]
    rq = result.requests
    measured = rq["end_s"] >= 10
    since = measured & (rq["end_s"] >= 60)
    bad = rq["outcome"] != "success"
    users_since = set(rq["user"][since].tolist())
    users_bad_since = set(rq["user"][since & bad].tolist())
    print(br)
    assert np.isclose(br["requests_share"], bad[measured].mean())
    assert np.isclose(br["requests_share_since_first_fault"], bad[since].mean())
    assert np.isclose(br["users_share_since_first_fault"], len(users_bad_since) / len(users_since))
    # queue overflows before the fault are not the fault's doing, and the bug is only from 60 s on
    assert bad[measured & (rq["end_s"] < 60)].any()
    assert br["requests_share_since_first_fault"] > br["requests_share"]
