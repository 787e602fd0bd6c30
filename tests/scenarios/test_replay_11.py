"""Card 11, Azure OpenAI and GitHub Copilot 2024-07-13: a cleanup job deletes the regional databases of
half the regions; rerouting brings the errors from 63 % under 6 %
(scenarios/incidents/azure-2024-07-13-cleanup-job.yaml).

What is asserted comes from two shares the mechanisms give: during the deletion, the affected regions'
share of the proxy's round-robin rotation; after the rerouting, the survivors' shortfall,
1 - capacity / load (a fluid bound; the waiting room adds a little).
"""

from __future__ import annotations

import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import incident, replay_fixtures

REPLAY = incident("azure-2024-07-13-cleanup-job.yaml")
RATE = "workload.clients.copilot-chat.arrival.rate_rps"


scenario, replay = replay_fixtures(REPLAY)


def _failed(result: RunResult, from_s: float, to_s: float = float("inf")) -> float:
    ts = result.timeseries
    sel = (ts["t_s"] >= from_s) & (ts["t_s"] + result.scenario.run.bucket_s <= to_s)
    return float(1 - ts["outcome_success"][sel].sum() / ts["ended"][sel].sum())


def _affected(scenario: Scenario) -> set[str]:
    return {f.target.name.removeprefix("db-") for f in scenario.faults}


def _replicas_share(scenario: Scenario) -> float:
    pools = scenario.topology.pools
    hit = sum(p.replicas for p in pools if p.zones[0] in _affected(scenario))
    return hit / sum(p.replicas for p in pools)


def _survivors_capacity_rps(scenario: Scenario) -> float:
    return sum(p.replicas * p.server.concurrency / p.server.service_time_s.mean
               for p in scenario.topology.pools if p.zones[0] not in _affected(scenario))


def _rerouted_s(result: RunResult) -> float:
    return max(e["t_s"] for e in result.summary["response"]["log"] if e["event"] == "action done")


def test_errors_come_only_from_the_affected_regions_at_their_share_of_the_rotation(scenario, replay):
    at = scenario.faults[0].at_s
    assert _failed(replay, scenario.run.warmup_s, at) < 0.005
    peak = _failed(replay, at + 60, _rerouted_s(replay))
    assert peak == pytest.approx(_replicas_share(scenario), abs=0.03)  # 62.5 %; published 63 %
    # the deleted dependency fails requests on deployments that stay up and in rotation
    assert replay.summary["measured"]["outcomes"]["dependency_error"] > 0
    assert not [t for t in replay.transitions if t.component == "copilot-proxy" and "ejected" in t.cause.detail
                and t.t_s < _rerouted_s(replay)]


def test_rerouting_brings_the_errors_down_to_the_survivors_shortfall(scenario, replay):
    after = _failed(replay, _rerouted_s(replay) + 120)
    rate = scenario.workload.clients[0].arrival.rate_rps
    shortfall = max(0.0, 1 - _survivors_capacity_rps(scenario) / rate)
    assert after < 0.06  # published: under 6 %
    assert shortfall <= after + 0.01 and after < shortfall + 0.04


def test_counterfactual_without_rerouting_no_recovery(scenario, replay):
    nobody = run(with_changes(scenario, {"response": None}))
    assert _failed(nobody, _rerouted_s(replay) + 120) == pytest.approx(_replicas_share(scenario), abs=0.03)


@pytest.mark.parametrize("rate_rps", [8.0, 12.0])
def test_sensitivity_the_residual_follows_the_survivors_capacity_against_the_load(scenario, replay, rate_rps):
    variant = run(with_changes(scenario, {RATE: rate_rps}))
    after = _failed(variant, _rerouted_s(variant) + 120)
    shortfall = max(0.0, 1 - _survivors_capacity_rps(scenario) / rate_rps)
    assert shortfall <= after + 0.01 and after < shortfall + 0.04
    base = _failed(replay, _rerouted_s(replay) + 120)
    assert (after < base) if rate_rps < scenario.workload.clients[0].arrival.rate_rps else (after > base)
