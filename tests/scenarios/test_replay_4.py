"""Card 4, OpenAI ChatGPT 2024-06-04: a connection surge from the pooling service makes the primary
database unreachable (scenarios/incidents/openai-2024-06-04-database-connections.yaml).

Variants change one dotted path on the same seed. What is asserted is whether the reconnect herd
sustains itself, against the bound the mechanism gives: a setup takes at most
pool_size x setup_s / cpus (every connection slot being set up at once), so a connect timeout above
that, or a connection limit below cpus x timeout / setup_s, lets every setup complete in time.
"""

from __future__ import annotations

import pytest

from sim.analysis import analyze
from sim.experiment.run import run_with_stack
from sim.observe.result import RunResult
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import incident, replay_fixtures

REPLAY = incident("openai-2024-06-04-database-connections.yaml")
SURGE_S = 240.0
CONNECTIONS = "databases.primary-db.connections"


NOBODY = {"response": None, "run.duration_s": 900.0}
"""Variants without the responders, 11 minutes after the surge: what the mechanisms do on their own."""

scenario, replay = replay_fixtures(REPLAY, NOBODY, runner=run_with_stack)
"""The file as written, and its run with nobody acting (the mechanisms alone), with the stack."""


@pytest.fixture(scope="module")
def responded(scenario: Scenario) -> RunResult:
    """The replay as written: paged, the operators block all traffic and ramp it back."""
    return run_with_stack(scenario)[0]


def _variant(scenario: Scenario, changes: dict) -> tuple[RunResult, object]:
    return run_with_stack(with_changes(scenario, {**NOBODY, **changes}))


def _success(result: RunResult, from_s: float, to_s: float = float("inf")) -> float:
    ts = result.timeseries
    sel = (ts["t_s"] >= from_s) & (ts["t_s"] < to_s)
    return float(ts["outcome_success"][sel].sum() / max(1, ts["ended"][sel].sum()))


def _setup_bound_s(scenario: Scenario, pool_size: int | None = None) -> float:
    db = scenario.topology.databases[0]
    return (pool_size or db.pool_size) * db.connections.setup_s / db.connections.cpus


def test_the_surge_makes_the_primary_unreachable_for_good_while_traffic_flows(scenario, replay):
    result, stack = replay
    assert _success(result, 60.0, SURGE_S) > 0.99
    assert _success(result, SURGE_S + 30) < 0.01  # unreachable to the end: metastable, the trigger is instant
    db = stack.by_name["primary-db"]
    report = db.report()["connections"]
    assert report["open"] == 0 and report["completed"] == 0  # not one setup finished in time
    assert report["wasted"] > 10 * db.pool_min  # the database works for callers who gave up
    assert _setup_bound_s(scenario) > scenario.topology.databases[0].connections.connect_timeout_s
    assert any(t.component == "primary-db" and t.cause.kind == "fault" and t.cause.source == "pooler-surge"
               for t in result.transitions)


def _log(result: RunResult) -> dict[tuple[str, str], float]:
    """(event, action name) -> first time, from the response log."""
    out: dict[tuple[str, str], float] = {}
    for e in result.summary["response"]["log"]:
        out.setdefault((e["event"], e.get("action", "")), e["t_s"])
    return out


def _promotions(result: RunResult) -> list[float]:
    return [t.t_s for t in result.transitions
            if t.component == "primary-db" and t.cause.mechanism == "replica_promotion"]


@pytest.fixture(scope="module")
def promoted_late(scenario: Scenario, responded: RunResult) -> tuple[RunResult, float]:
    """The replay with the promotion moved from the block to a minute after the ramp's end (traffic flowing);
    until then it is the replay without the promotion. Returns the run and the promotion's order time."""
    after_ramp = _log(responded)[("action done", "block-and-ramp")] + 60
    actions = [a.model_dump(exclude_unset=True) for a in scenario.response.actions]
    late = [{k: v for k, v in a.items() if k not in ("after_alert", "delay_s")} | {"at_s": after_ramp}
            if a["kind"] == "failover" else a for a in actions]
    return run_with_stack(with_changes(scenario, {"response.actions": late}))[0], after_ramp


def test_blocking_all_traffic_then_ramping_it_back_recovers_the_primary(responded):
    """The published mitigation: with no traffic the callers' retries run out and the setups in progress
    finish; traffic coming back a share at a time opens connections well within the setup capacity."""
    log = _log(responded)
    block, done = log[("action starts", "block-and-ramp")], log[("action done", "block-and-ramp")]
    assert min(t for (event, _), t in log.items() if event == "acknowledged") < block
    assert _success(responded, SURGE_S + 30, block) < 0.01  # unreachable until the traffic is blocked
    ts = responded.timeseries
    after = ts["t_s"] >= done
    served = ts["outcome_success"][after].sum() / ts["ended"][after].sum()
    assert served > 0.99  # every request served once the ramp is done
    assert ts["outcome_rate_limited"][(ts["t_s"] >= block) & (ts["t_s"] < done)].sum() > 0  # the ramp's 429s
    status = [s["status"] for s in analyze(responded)["incident"]["status"]]
    assert status[:3] == ["Investigating", "Identified", "Monitoring"]


def test_the_published_order_block_then_promote_during_the_block_then_ramp_back(scenario, responded):
    """The secondary is promoted while the traffic is blocked, before the ramp's first step."""
    assert scenario.topology.databases[0].replica is not None  # a standby to promote
    log = _log(responded)
    block = log[("action starts", "block-and-ramp")]
    first_step = log[("action step", "block-and-ramp")]
    promoted = _promotions(responded)
    assert len(promoted) == 1
    assert block < log[("action starts", "promote-secondary")] < promoted[0] < first_step
    assert promoted[0] == log[("action done", "promote-secondary")]
    assert "by operators (promote-secondary)" in next(
        t.cause.detail for t in responded.transitions if t.cause.mechanism == "replica_promotion")
    ts = responded.timeseries
    blocked = (ts["t_s"] >= block + 30) & (ts["t_s"] < first_step)
    assert ts["outcome_success"][blocked].sum() == 0 < ts["outcome_rate_limited"][blocked].sum()  # all turned away


def _recovered_s(result: RunResult, block_s: float) -> float:
    """The first bucket after the block in which every request let through is served."""
    ts = result.timeseries
    for t, ended, ok, limited in zip(ts["t_s"], ts["ended"], ts["outcome_success"], ts["outcome_rate_limited"],
                                     strict=True):
        if t >= block_s and ok > 0 and ok == ended - limited:
            return float(t)
    return float("inf")


def test_the_block_is_the_fix_without_the_promotion_it_recovers_the_same(responded, promoted_late):
    """In this model the promotion is not what ends it: the old primary has no state of its own left once
    the traffic is blocked, so the replay without the promotion in the block recovers in the same bucket."""
    alone, after_ramp = promoted_late
    assert all(t > after_ramp for t in _promotions(alone))
    block = _log(responded)[("action starts", "block-and-ramp")]
    assert _recovered_s(responded, block) == _recovered_s(alone, block) < block + 400
    assert _success(alone, _log(alone)[("action done", "block-and-ramp")], after_ramp) > 0.99


def test_promoting_with_the_traffic_flowing_brings_the_herd_back(responded, promoted_late):
    """Why the promotion belongs in the block: a promotion drops every connection (they were to the old
    primary) and the pooler reopens its 400 at once, the trigger again. During the block nothing else asks
    for a connection and the burst runs out; the same promotion after the ramp, with the traffic flowing,
    makes the primary unreachable again."""
    result, after_ramp = promoted_late
    promoted = _promotions(result)
    assert promoted and promoted[0] > after_ramp
    assert _success(result, after_ramp - 60, after_ramp) > 0.99  # served from the ramp's end to the promotion
    assert _success(result, promoted[0] + 30) < 0.01  # unreachable after it
    assert _success(responded, after_ramp) > 0.99  # the replay, promoted during the block, stays served


def test_failing_over_does_not_help_the_promoted_standby_gets_the_same_herd(scenario):
    result, _ = _variant(scenario, {"faults": [
        *[f.model_dump(exclude_unset=True) for f in scenario.faults],
        {"id": "primary-lost", "kind": "database_failover", "target": {"name": "primary-db"}, "at_s": 480}]})
    promoted = [t for t in result.transitions if t.component == "primary-db" and t.state == "healthy"
                and t.cause.mechanism == "replica_promotion"]
    assert promoted and promoted[0].t_s > 480
    assert _success(result, promoted[0].t_s + 30) < 0.01


def test_counterfactual_a_connect_timeout_above_the_setup_bound_absorbs_the_surge(scenario):
    timeout_s = 8.0
    assert timeout_s > _setup_bound_s(scenario)
    result, stack = _variant(scenario, {f"{CONNECTIONS}.connect_timeout_s": timeout_s})
    assert _success(result, SURGE_S) > 0.99
    assert stack.by_name["primary-db"].report()["connections"]["wasted"] == 0


def test_counterfactual_a_lower_connection_limit_sheds_the_herd_before_it_forms(scenario):
    limit = 60
    assert _setup_bound_s(scenario, limit) < scenario.topology.databases[0].connections.connect_timeout_s
    result, _ = _variant(scenario, {"databases.primary-db.pool_size": limit})
    assert _success(result, SURGE_S) > 0.99


def test_sensitivity_a_burst_the_setups_absorb_in_time_passes_a_larger_one_sticks(scenario, replay):
    """The pooler's burst of n setups at once takes n x setup_s / cpus: below the callers' timeout it is
    absorbed (guaranteed), well above it the herd forms and sustains itself."""
    timeout_s = scenario.topology.databases[0].connections.connect_timeout_s
    small, large = 60, 150
    assert _setup_bound_s(scenario, small) < timeout_s < _setup_bound_s(scenario, large)
    absorbed, _ = _variant(scenario, {f"{CONNECTIONS}.pool_min": small})
    stuck, _ = _variant(scenario, {f"{CONNECTIONS}.pool_min": large})
    assert _success(absorbed, SURGE_S) > 0.99
    assert _success(stuck, SURGE_S + 30) < 0.01
    assert _success(replay[0], SURGE_S + 30) < 0.01  # and the replay's 400 (nobody acting)
