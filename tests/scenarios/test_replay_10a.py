"""Card 10 (a), Anthropic August 2025: sticky routing turns a misrouted share of requests into a larger
share of users hit, silently (scenarios/incidents/anthropic-2025-08-routing.yaml).

The replay and its variants share one seed (common random numbers: the same arrivals and users), so
what differs between them is the routing. The users share is checked against the formula the
mechanism predicts: a user with k requests draws 1 + (k - 1)(1 - stickiness) placements, each bad
with the misrouted share f.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from sim import run
from sim.analysis import analyze
from sim.observe.result import RunResult
from sim.resilience.policies.balancing import Sticky
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import incident, replay_fixtures

REPLAY = incident("anthropic-2025-08-routing.yaml")
STICKINESS = "load_balancers.router.balancing.stickiness"


scenario, replay = replay_fixtures(REPLAY)


@pytest.fixture(scope="module")
def by_stickiness(scenario: Scenario, replay: RunResult) -> dict[float, RunResult]:
    """The replay with conversations pinned for good (1) and with every request placed afresh (0)."""
    return {s: run(with_changes(scenario, {STICKINESS: s})) for s in (1.0, 0.0)}


def _shares(result: RunResult) -> tuple[float, float, float]:
    """(bad requests / requests, users hit / active users, requests per active user)."""
    m = result.summary["measured"]
    users = m["users"]
    return m["outcomes"]["wrong_answer"] / m["ended"], users["affected"] / users["active"], m["ended"] / users["active"]


def _expected_users_hit(f: float, stickiness: float, mean_requests: float) -> float:
    """E[1 - (1 - f)^(1 + (K - 1)(1 - s))] over users' request counts K ~ Poisson, given K >= 1."""
    k = np.arange(1, 400)
    p = stats.poisson(mean_requests).pmf(k)
    hit = 1 - (1 - f) ** (1 + (k - 1) * (1 - stickiness))
    return float((p * hit).sum() / p.sum())


def test_silent_every_request_served_no_ejection_no_http_alert_only_the_quality_probe(replay):
    m = replay.summary["measured"]
    outcomes = m["outcomes"]
    assert outcomes["success"] + outcomes["wrong_answer"] == m["ended"]
    assert outcomes["wrong_answer"] > 0
    assert not [x for x in replay.transitions if x.component == "router" and x.cause.kind != "init"]
    obs = analyze(replay)["observability"]
    assert obs["monitors"]["first_alert"] == "quality-probe"  # the HTTP error rule never fires
    assert not obs["wrong_answers_unseen"]
    probe = replay.scenario.monitoring.quality_probe
    # the probe needs its verdict delay and enough samples: it fires minutes after the first wrong answer
    assert probe.detection_delay_s <= obs["wrong_answer_gap_s"] <= probe.detection_delay_s + 600
    unprobed = replay.scenario.model_copy(update={"monitoring": replay.scenario.monitoring.model_copy(
        update={"quality_probe": None})})
    without_probe = analyze(dataclasses.replace(replay, scenario=unprobed))
    assert without_probe["observability"]["wrong_answers_unseen"]


def test_the_share_of_bad_requests_is_the_misrouted_share(scenario, replay):
    f_routed = scenario.faults[0].target.count / scenario.topology.pools[0].replicas
    request_share, _, _ = _shares(replay)
    assert request_share == pytest.approx(f_routed, rel=0.25)


def test_users_hit_exceed_requests_hit_by_the_stickiness_formula(scenario, replay):
    request_share, user_share, k = _shares(replay)
    s = scenario.topology.load_balancers[0].balancing.stickiness
    assert user_share == pytest.approx(_expected_users_hit(request_share, s, k), rel=0.1)
    assert user_share > 1.4 * request_share  # the gap, with every misrouted answer bad (100 %)


def test_counterfactual_routing_moves_the_users_share_as_the_formula_predicts(replay, by_stickiness):
    """Sensitivity: less stickiness, more placements per user, more users hit (each fewer times); pinned
    for good, the users hit are exactly the pinned share: no gap."""
    shares = {s: _shares(r) for s, r in {**by_stickiness, 0.95: replay}.items()}
    users = {s: v[1] for s, v in shares.items()}
    assert users[1.0] < users[0.95] < users[0.0]
    for s, (f, u, k) in shares.items():
        assert u == pytest.approx(_expected_users_hit(f, s, k), rel=0.1), s
    f1, u1, _ = shares[1.0]
    assert u1 == pytest.approx(f1, rel=0.25)  # pinned for good: users share = requests share
    assert users[0.0] > 0.85
    # same bad requests in all three: only how they are spread over users changed
    assert max(v[0] for v in shares.values()) < 1.25 * min(v[0] for v in shares.values())


# --- the earlier form of this replay (kept): fully sticky, 20 % of the bad replicas' answers wrong -------
def _pinned_share(scenario: Scenario, result: RunResult, client: str) -> float:
    """Share of a client's users that sticky routing pins to a replica with the wrong-answer fault."""
    bad = set(result.fault_log[0]["targets"])
    servers = [SimpleNamespace(name=f"{p.name}-{i}") for p in scenario.topology.pools for i in range(p.replicas)]
    sticky = Sticky(None)
    users = next(c.users for c in scenario.workload.clients if c.name == client)
    pinned = sum(sticky.pick(servers, SimpleNamespace(request=SimpleNamespace(client=client, user=u))).name in bad
                 for u in range(users))
    return pinned / users


def test_fully_sticky_partial_wrong_answers_hit_users_as_pinned_share_times_one_minus_e_minus_kp(scenario):
    scenario = with_changes(scenario, {STICKINESS: 1.0, "faults.long-context-routing.wrong_percent": 20})
    res = run(scenario)
    m = res.summary["measured"]
    outcomes = m["outcomes"]
    assert outcomes["success"] + outcomes["wrong_answer"] == m["ended"]
    fault = scenario.faults[0]
    p = fault.wrong_percent / 100
    f = fault.target.count / scenario.topology.pools[0].replicas
    request_share = outcomes["wrong_answer"] / m["ended"]
    assert request_share == pytest.approx(f * p, rel=0.3)
    users = m["users"]
    user_share = users["affected"] / users["active"]
    pinned = _pinned_share(scenario, res, "claude-code")
    k = m["ended"] / users["active"]
    assert user_share <= pinned
    assert user_share == pytest.approx(pinned * (1 - math.exp(-k * p)), rel=0.1)
    assert user_share > 3 * request_share
    spread = run(with_changes(scenario, {"load_balancers.router.balancing.kind": "round_robin"}))
    ms = spread.summary["measured"]
    assert ms["outcomes"]["wrong_answer"] / ms["ended"] == pytest.approx(request_share, rel=0.3)
    assert ms["users"]["affected"] / ms["users"]["active"] > 2 * user_share
