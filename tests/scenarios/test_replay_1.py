"""Card 1, OpenAI 2023-11-08 (the day after DevDay): record traffic, routing-layer nodes past their
memory limits, operators paged by a slow burn alert who limit the traffic, redeploy and ramp it back
(scenarios/incidents/openai-2023-11-08-devday.yaml), on the seed articles' clock.

The replay and its variants share one seed: until the first action the variants are the same run, so
what the assertions compare afterwards is the responders' actions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import run
from sim.analysis import analyze
from sim.components.lifecycle import SERVING_STATES
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario, with_changes
from sim.spec.scenario import Scenario

REPLAY = Path(__file__).resolve().parents[2] / "scenarios" / "incidents" / "openai-2023-11-08-devday.yaml"
CLOCK_0 = 5 * 3600 + 30 * 60
"""t = 0 is 05:30 PT."""


def at(clock: str) -> float:
    """Seconds into the run of a PT clock time 'HH:MM'."""
    h, m = map(int, clock.split(":"))
    return h * 3600 + m * 60 - CLOCK_0


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(REPLAY)


@pytest.fixture(scope="module")
def replay(scenario: Scenario) -> RunResult:
    return run(scenario)


@pytest.fixture(scope="module")
def unlimited(scenario: Scenario) -> RunResult:
    """No traffic limit and no ramp (a ramp is a limit too): the redeploy alone."""
    redeploy = next(a for a in scenario.response.actions if a.kind == "redeploy")
    return run(with_changes(scenario, {"response.actions": [redeploy.model_dump(exclude_unset=True)]}))


def _share(result: RunResult, outcome: str, from_s: float, to_s: float) -> float:
    ts = result.timeseries
    sel = (ts["t_s"] >= from_s) & (ts["t_s"] < to_s)
    return float(ts[f"outcome_{outcome}"][sel].sum() / max(1, ts["ended"][sel].sum()))


def _log(result: RunResult, event: str) -> list[float]:
    return [e["t_s"] for e in result.summary["response"]["log"] if e["event"] == event]


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


def test_then_429s_for_the_excess_while_the_rest_is_served_then_recovery(scenario, replay):
    limit = next(a for a in scenario.response.actions if a.kind == "limit_traffic")
    start, redeploy = _log(replay, "action starts")[:2]
    held = (start + 300, redeploy)  # the limit holding, before the redeploy restarts nodes
    assert _share(replay, "rate_limited", *held) > 0.2
    served = _share(replay, "success", *held)
    assert 1 - served - _share(replay, "rate_limited", *held) < 0.05  # no other failures once it holds
    ts = replay.timeseries
    sel = (ts["t_s"] >= held[0]) & (ts["t_s"] < held[1])
    assert np.mean(ts["goodput_rps"][sel]) > 0.9 * limit.rate_rps
    assert _share(replay, "success", at("07:55"), scenario.run.duration_s) > 0.98  # recovered, traffic still high


def test_counterfactual_without_the_traffic_limit_no_recovery(replay, unlimited):
    start = _log(replay, "action starts")[0]
    a, b = replay.timeseries, unlimited.timeseries
    before = a["t_s"] < start
    assert np.array_equal(a["outcome_success"][before], b["outcome_success"][before])  # same run until then
    end = replay.scenario.run.duration_s
    assert _share(unlimited, "success", at("07:55"), end) < 0.6
    assert np.mean(b["goodput_rps"][a["t_s"] >= at("07:55")]) < 0.7 * np.mean(a["goodput_rps"][a["t_s"] >= at("07:55")])
    assert any(x.cause.mechanism == "oom" for x in unlimited.transitions if x.t_s > at("07:55"))


def test_sensitivity_a_limit_at_or_above_the_layers_capacity_does_not_hold(scenario, replay):
    """Capacity: 4 nodes x 4 slots / 2 s = 8 requests/s. A limit at 80 % of it holds; at 100 % (and
    above) the admitted load, retries included, keeps the nodes past their memory limits."""
    pool = scenario.topology.pools[0]
    capacity_rps = pool.replicas * pool.server.concurrency / pool.server.service_time_s.mean
    start, redeploy = _log(replay, "action starts")[:2]
    loose = run(with_changes(scenario, {"response.actions.limit-traffic.rate_rps": capacity_rps,
                                        "run.duration_s": redeploy}))
    ts, tl = replay.timeseries, loose.timeseries
    held = (ts["t_s"] >= start + 300) & (ts["t_s"] < redeploy)
    goodput = np.mean(ts["goodput_rps"][held])
    assert goodput > 0.7 * next(a.rate_rps for a in scenario.response.actions if a.kind == "limit_traffic")
    assert np.mean(tl["goodput_rps"][held[: len(tl["t_s"])]]) < 0.3 * goodput
    assert any(x.cause.mechanism == "oom" for x in loose.transitions if x.t_s > start + 300)
