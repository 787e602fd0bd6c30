"""Card 7 (OpenAI API 2024-12-04): 4 minutes of errors from a load-balancer misconfiguration, then a DNS
cache cut off: lookups wait out a 30 s timeout and about 45 % of requests are given up by their clients.

Shape, counterfactual (a DNS timeout below the clients' timeout) and sensitivity (the cached answer's
TTL against a renewal formula) of scenarios/incidents/openai-2024-12-04-lb-config-dns-cache.yaml.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from tests.scenarios.replays import incident, replay_fixtures

FILE = incident("openai-2024-12-04-lb-config-dns-cache.yaml")
MISCONFIG_S, REVERTED_S = 1080.0, 1320.0  # 15:48, 15:52 PST
CUT_S, RESTORED_S = 2220.0, 7620.0  # 16:07, 17:37
LOOKUP_S, CLIENT_TIMEOUT_S, RATE_RPS = 30.0, 10.0, 3.0
SHORT = {"run.duration_s": 5000.0, "response.actions.restore-dns-cache.at_s": 4990.0}
"""Variants stop at 16:53, the cache restored just before (to keep them short)."""


def _given_up_share(ttl_s: float, lookup_s: float = LOOKUP_S) -> float:
    """Renewal model: a lookup of lookup_s, then the answer cached ttl_s, then the next arrival (1 / rate
    later on average) starts the next lookup; arrivals waiting more than the client timeout give up."""
    return max(0.0, lookup_s - CLIENT_TIMEOUT_S) / (lookup_s + ttl_s + 1 / RATE_RPS)


def _shares(res: RunResult, t0_s: float, t1_s: float) -> dict[str, float]:
    r = res.requests
    o = r["outcome"][(r["arrival_s"] >= t0_s) & (r["arrival_s"] < t1_s)]
    return {k: float(np.mean(o == k)) for k in ("success", "server_error", "timeout")}


scenario, replay = replay_fixtures(FILE, record_requests=True)


def test_four_minutes_of_errors_then_normal_then_clients_giving_up_on_slow_lookups_then_back(replay):
    assert _shares(replay, 300, MISCONFIG_S)["success"] == 1.0
    assert _shares(replay, MISCONFIG_S + 10, REVERTED_S)["server_error"] == 1.0  # 100 % errors (530)
    assert _shares(replay, REVERTED_S + 10, CUT_S)["success"] == 1.0
    cut = _shares(replay, CUT_S + 60, RESTORED_S)
    assert cut["timeout"] == pytest.approx(_given_up_share(15.0), abs=0.04)  # formula: 44 %
    assert 0.35 < cut["timeout"] < 0.55  # published: 45 % client cancellations
    assert cut["success"] + cut["timeout"] == pytest.approx(1.0)  # the rest is served, late
    assert _shares(replay, RESTORED_S + 60, 9000)["success"] == 1.0
    r = replay.requests
    slow = (r["arrival_s"] >= CUT_S + 60) & (r["arrival_s"] < RESTORED_S) & (r["outcome"] == "success")
    assert np.max(r["latency_s"][slow]) > 5.0  # some waited for a lookup and made it


def test_a_dns_timeout_below_the_clients_timeout_gives_up_nothing():
    quick = run(load_scenario(FILE, {"faults.dns-cache-upgrade.lookup_timeout_s": 5.0, **SHORT}),
                record_requests=True)
    assert _shares(quick, CUT_S + 60, 5000)["success"] == 1.0


def test_the_cached_answers_ttl_moves_the_share_given_up_as_the_renewal_formula_says(replay):
    longer = run(load_scenario(FILE, {"discovery.ttl_s": 45.0, **SHORT}), record_requests=True)
    share = _shares(longer, CUT_S + 60, 5000)["timeout"]
    assert share == pytest.approx(_given_up_share(45.0), abs=0.04)  # 27 %
    assert share < _shares(replay, CUT_S + 60, RESTORED_S)["timeout"] - 0.1
