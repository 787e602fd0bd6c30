"""Card 1, OpenAI 2023-11-08 (the day after DevDay): record traffic, routing-layer nodes past their
memory limits that keep their memory until they restart, operators paged by a slow burn alert who
limit the traffic, redeploy en masse and ramp it back (scenarios/incidents/openai-2023-11-08-devday.yaml),
on the seed articles' clock.

The replay and its variants share one seed: until the first action the variants are the same run, so
what the assertions compare afterwards is the responders' actions.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.analysis import analyze
from sim.components.lifecycle import SERVING_STATES
from sim.observe.result import RunResult
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import incident, replay_fixtures

REPLAY = incident("openai-2023-11-08-devday.yaml")
CLOCK_0 = 5 * 3600 + 30 * 60
"""t = 0 is 05:30 PT."""


def at(clock: str) -> float:
    """Seconds into the run of a PT clock time 'HH:MM'."""
    h, m = map(int, clock.split(":"))
    return h * 3600 + m * 60 - CLOCK_0


scenario, replay = replay_fixtures(REPLAY)


def _actions(scenario: Scenario, *kinds: str) -> list[dict]:
    """The replay's actions of these kinds, as data for an override."""
    return [a.model_dump(exclude_unset=True) for a in scenario.response.actions if a.kind in kinds]


@pytest.fixture(scope="module")
def unlimited(scenario: Scenario) -> RunResult:
    """No traffic limit and no ramp (a ramp is a limit too): the redeploy alone."""
    return run(with_changes(scenario, {"response.actions": _actions(scenario, "redeploy")}))


@pytest.fixture(scope="module")
def no_redeploy(scenario: Scenario) -> RunResult:
    """The limit and the ramp, no redeploy."""
    return run(with_changes(scenario, {"response.actions": _actions(scenario, "limit_traffic", "block_and_ramp")}))


def _share(result: RunResult, outcome: str, from_s: float, to_s: float) -> float:
    ts = result.timeseries
    sel = (ts["t_s"] >= from_s) & (ts["t_s"] < to_s)
    return float(ts[f"outcome_{outcome}"][sel].sum() / max(1, ts["ended"][sel].sum()))


def _log(result: RunResult, event: str) -> list[float]:
    return [e["t_s"] for e in result.summary["response"]["log"] if e["event"] == event]


def _back_s(result: RunResult) -> float:
    """The first minute after the limit in which what the edge admits is served (90 % of the requests not
    refused with a 429 succeed); inf: never."""
    ts = result.timeseries
    limit_s = _log(result, "action starts")[0]
    admitted = ts["ended"] - ts["outcome_rate_limited"]
    ok = (ts["t_s"] >= limit_s) & (admitted > 0) & (ts["outcome_success"] > 0.9 * admitted)
    return float(ts["t_s"][ok][0]) if ok.any() else np.inf


def _end_states(result: RunResult, pool: str = "routing") -> dict[str, tuple[str, str]]:
    """Each node's last state and the mechanism that put it there."""
    last: dict[str, tuple[str, str]] = {}
    for x in result.transitions:
        if x.component.startswith(f"{pool}-"):
            last[x.component] = (x.state, x.cause.mechanism)
    return last


def test_errors_first_nodes_failing_readiness_on_memory_and_oom_killed(replay):
    limit_s = _log(replay, "action starts")[0]
    assert _share(replay, "success", 60, at("05:40")) > 0.99
    assert _share(replay, "success", at("05:45"), limit_s) < 0.5
    first_bad = next(t for t, ok in zip(replay.timeseries["t_s"], replay.timeseries["success_ratio"], strict=True)
                     if ok < 0.9)
    assert at("05:38") <= first_bad <= at("05:50")  # published: first reports 05:42
    assert any(x.cause.mechanism == "oom" for x in replay.transitions if x.t_s < limit_s)
    by_id = {x.id: x for x in replay.transitions}
    ejected = [x for x in replay.transitions if x.component == "edge" and "ejected" in x.cause.detail]
    # some nodes leave rotation while still serving: readiness failed on memory, not a crash
    assert any(by_id[x.cause.parents[0]].state in SERVING_STATES for x in ejected if x.cause.parents)


def test_the_responders_clock_emerges_near_the_published_one(replay):
    """Acknowledged 06:30, traffic limited 07:03, fix 07:33, recovering 08:00 (published); here from the
    alert routing (only the slow burn alert pages), its window and the on-call's times."""
    ack = _log(replay, "acknowledged")[0]
    assert at("06:15") <= ack <= at("06:40")
    status = {s["status"]: s["t_s"] for s in analyze(replay)["incident"]["status"]}
    assert list(status)[:3] == ["Investigating", "Identified", "Monitoring"]
    assert status["Investigating"] == ack
    assert at("07:45") <= status["Monitoring"] <= at("08:15")
    starts = _log(replay, "action starts")
    assert at("06:55") <= starts[0] <= at("07:10")  # the limit
    assert at("07:25") <= starts[1] <= at("07:35")  # the redeploy: the fix, published 07:33


def test_then_429s_while_no_node_is_ready_then_recovery_from_the_redeploy(scenario, replay):
    """Under the limit the excess gets 429 and the rest still fails: every node is out of rotation on the
    memory it kept. Success comes back with the redeploy's clean processes."""
    limit_s, redeploy_s = _log(replay, "action starts")[:2]
    held = (limit_s + 300, redeploy_s)
    assert _share(replay, "rate_limited", *held) > 0.5
    assert _share(replay, "success", *held) < 0.01
    before = {x.component: x for x in replay.transitions if x.component.startswith("routing-") and x.t_s < redeploy_s}
    assert {x.state for x in before.values()} == {"overloaded"}  # all four failing readiness...
    assert {x.cause.mechanism for x in before.values()} == {"memory_pressure"}  # ...on memory
    done_s = next(t for t in _log(replay, "action done") if t > redeploy_s)
    assert redeploy_s < _back_s(replay) <= done_s + 120  # back with the redeploy
    assert _share(replay, "success", at("07:55"), scenario.run.duration_s) > 0.98  # recovered, traffic still high


def test_counterfactual_without_the_redeploy_no_recovery_although_the_traffic_eases(replay, no_redeploy):
    start = _log(replay, "action starts")[0]
    a, b = replay.timeseries, no_redeploy.timeseries
    before = a["t_s"] < start
    assert np.array_equal(a["outcome_success"][before], b["outcome_success"][before])  # same run until then
    assert _back_s(no_redeploy) == np.inf
    assert _share(no_redeploy, "success", at("07:55"), replay.scenario.run.duration_s) < 0.01
    # at the end (demand 1.5 x 5 = 7.5 requests/s, under the layer's 8) every node is still out on its memory
    assert set(_end_states(no_redeploy).values()) == {("overloaded", "memory_pressure")}


def test_counterfactual_without_the_traffic_limit_no_recovery(replay, unlimited):
    start = _log(replay, "action starts")[0]
    a, b = replay.timeseries, unlimited.timeseries
    before = a["t_s"] < start
    assert np.array_equal(a["outcome_success"][before], b["outcome_success"][before])  # same run until then
    end = replay.scenario.run.duration_s
    assert _share(unlimited, "success", at("07:55"), end) < 0.2
    assert np.mean(b["goodput_rps"][a["t_s"] >= at("07:55")]) < 0.3 * np.mean(a["goodput_rps"][a["t_s"] >= at("07:55")])
    # the redeployed nodes take the whole traffic with its retries and are overwhelmed again
    assert any(x.cause.mechanism == "oom" for x in unlimited.transitions if x.t_s > at("07:35"))


def test_sensitivity_the_redeploys_time_moves_the_recovery_with_it(scenario, replay):
    earlier_s = 1080.0  # 07:13 instead of 07:31, still under the limit
    delay_s = next(a.delay_s for a in scenario.response.actions if a.kind == "redeploy")
    early = run(with_changes(scenario, {"response.actions.redeploy-routing.delay_s": delay_s - earlier_s}))
    assert abs((_back_s(replay) - _back_s(early)) - earlier_s) <= 120


def test_sensitivity_a_retained_share_within_the_readiness_room_lets_nodes_come_back_by_themselves(scenario, replay):
    """A node out of rotation stays out while baseline + share x peak exceeds the readiness limit; its peak
    is below limit - baseline (else it is OOM-killed), so at share <= (readiness - baseline) / (limit -
    baseline) = 4 / 8 GB every node comes back once it drains: the limit alone ends it, before the redeploy."""
    memory = scenario.topology.pools[0].memory
    share = (memory.readiness_limit_mb - memory.baseline_mb) / (memory.limit_mb - memory.baseline_mb)
    given_back = run(with_changes(scenario, {"topology.pools.routing.memory.retained_share": share}))
    limit_s, redeploy_s = _log(replay, "action starts")[:2]
    assert _back_s(given_back) < redeploy_s < _back_s(replay)
    assert _share(given_back, "success", limit_s + 300, redeploy_s) > 0.5


@pytest.mark.parametrize("batch_percent", [25, 50])
def test_sensitivity_a_batch_must_carry_the_admitted_traffic_until_the_next_serves(scenario, batch_percent):
    """A batch of k nodes alone takes the admitted 6.4 requests/s against its k x 2 until the next batch
    serves (75 s): one node gains 4.4 requests/s, past its 128 in flight (the readiness limit) in 29 s,
    and keeps that memory; two gain (6.4 - 4) x 75 / 2 = 90 each and hold. En masse (the replay) holds."""
    pool = scenario.topology.pools[0]
    node_rps = pool.server.concurrency / pool.server.service_time_s.mean
    limit_rps = next(a.rate_rps for a in scenario.response.actions if a.kind == "limit_traffic")
    room = (pool.memory.readiness_limit_mb - pool.memory.baseline_mb) / pool.memory.per_request_mb
    k = round(pool.replicas * batch_percent / 100)
    holds = (limit_rps - k * node_rps) * 75.0 / k < room
    res = run(with_changes(scenario, {"response.actions.redeploy-routing.batch_percent": batch_percent}))
    late = _share(res, "success", at("07:55"), scenario.run.duration_s)
    assert holds == (batch_percent == 50)
    assert (late > 0.98) if holds else (late < 0.05)
