"""Incident replays (scenarios/incidents/) show their published shape through mechanisms.

Each test compares the replay with a control on the same seed that changes one design choice (the
retry policy of a start-up, a traffic limit, the balancing policy), so what is asserted is the
effect of the mechanism, not a seeded number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim import run
from sim.components.lifecycle import SERVING_STATES
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from sim.spec.scenario import Scenario

INCIDENTS = Path(__file__).resolve().parents[2] / "scenarios" / "incidents"


def _with_pools(scenario: Scenario, **startup_retry) -> Scenario:
    """The same scenario with every pool's start-up retry policy changed."""
    pools = [p.model_copy(update={"startup": p.startup.model_copy(update={
        "retry": p.startup.retry.model_copy(update=startup_retry)})}) for p in scenario.topology.pools]
    return scenario.model_copy(update={"topology": scenario.topology.model_copy(update={"pools": pools})})


def _shorter(scenario: Scenario, duration_s: float) -> Scenario:
    return scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": duration_s})})


def _all_healthy_after(result: RunResult, prefix: str, t0_s: float) -> float | None:
    """Seconds after t0_s until the last replica named prefix* became healthy; None if one never did."""
    replicas = {t.component for t in result.transitions if t.component.startswith(prefix) and t.cause.kind == "init"}
    last: dict[str, float] = {}
    for t in result.transitions:
        if t.component in replicas and t.t_s > t0_s and t.state == "healthy":
            last[t.component] = t.t_s
    return max(last.values()) - t0_s if replicas and set(last) == replicas else None


# --- card 5: OpenAI 2024-08-16 ---------------------------------------------------------------------
BLIP_S, BLIP_END_S = 480.0, 600.0


def _outage_end_s(result: RunResult, after_s: float) -> float:
    """End of the last bucket after ``after_s`` where fewer than half the requests succeeded."""
    ts = result.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    bad = t[(t >= after_s) & (ok < 0.5)]
    return float(bad.max() + result.scenario.run.bucket_s) if bad.size else after_s


def test_incident_5_a_short_data_plane_blip_becomes_a_long_outage_through_the_restart_herd():
    scenario = load_scenario(INCIDENTS / "openai-2024-08-16-restart-herd.yaml")
    herd = run(_shorter(scenario, 3300.0))
    jittered = run(_shorter(_with_pools(scenario, backoff_cap_s=60.0, multiplier=2.0, jitter="full"), 1200.0))
    pool = scenario.topology.pools[0]
    no_startup = scenario.model_copy(update={"topology": scenario.topology.model_copy(update={
        "pools": [pool.model_copy(update={"startup": None})]})})
    control = run(_shorter(no_startup, 900.0))
    # without start-up queries the services are back one start-up after the network (5 s model load)
    assert _all_healthy_after(control, "services-", BLIP_END_S - 1) == 1 + pool.server.model_load_s
    assert _outage_end_s(control, BLIP_S) <= BLIP_END_S + 60
    # with jittered exponential backoff on the start-ups the store drains within minutes
    jitter_end = _outage_end_s(jittered, BLIP_S)
    assert jitter_end <= BLIP_END_S + 300
    # without it the herd keeps the store saturated: the outage outlasts the 2-minute blip many times over
    herd_end = _outage_end_s(herd, BLIP_S)
    assert herd_end - BLIP_S > 3 * (jitter_end - BLIP_S)
    by_id = {x.id: x for x in herd.transitions}
    failed = [x for x in herd.transitions if x.cause.mechanism == "startup" and x.state in ("starting", "down")]
    assert any(by_id[p].component == "persistence" and by_id[p].state == "overloaded"
               for x in failed for p in x.cause.parents)


# --- card 1: OpenAI 2023-11-08 (DevDay) --------------------------------------------------------------
def test_incident_1_errors_then_rate_limited_429s_then_recovery_and_no_recovery_without_the_limit():
    scenario = load_scenario(INCIDENTS / "openai-2023-11-08-devday.yaml")
    edge = scenario.topology.load_balancers[0]
    # the limit switches on 40 minutes into the outage instead of 81 (07:03), to keep the test short
    limit = edge.rate_limit.model_copy(update={"from_s": 2400.0})
    edge = edge.model_copy(update={"rate_limit": limit})
    scenario = scenario.model_copy(update={"topology": scenario.topology.model_copy(update={"load_balancers": [edge]})})
    end_s = limit.from_s + 900.0
    limited = run(_shorter(scenario, end_s))
    unlimited = run(_shorter(scenario.model_copy(update={"topology": scenario.topology.model_copy(update={
        "load_balancers": [edge.model_copy(update={"rate_limit": None})]})}), end_s))
    a, b = limited.timeseries, unlimited.timeseries
    t = a["t_s"]
    before = t < limit.from_s
    # before the limit switches on the two runs are the same run (same seed, limit not yet active)
    assert np.array_equal(a["outcome_success"][before], b["outcome_success"][before])
    assert a["outcome_rate_limited"][before].sum() == 0
    # errors first: record traffic, memory past readiness and OOM, nodes out of service
    surge = (t >= 900) & before
    assert np.nanmean(a["success_ratio"][surge]) < 0.5
    assert any(x.cause.mechanism == "oom" for x in limited.transitions if x.t_s < limit.from_s)
    by_id = {x.id: x for x in limited.transitions}
    ejected = [x for x in limited.transitions if x.component == "edge" and "ejected" in x.cause.detail]
    # some nodes leave rotation while still serving: readiness failed on memory, not a crash (the node
    # records that as a load-caused overload, still a serving state)
    assert any(by_id[x.cause.parents[0]].state in SERVING_STATES
               and by_id[x.cause.parents[0]].cause.mechanism == "memory_pressure" for x in ejected if x.cause.parents)
    # then 429s for the excess while the rest succeeds at about the limit's rate
    after = t >= limit.from_s + 300
    ended = a["ended"][after].sum()
    assert a["outcome_rate_limited"][after].sum() / ended > 0.2
    served = a["outcome_success"][after].sum()
    other_failures = ended - served - a["outcome_rate_limited"][after].sum()
    assert other_failures / ended < 0.05
    rate = limit.classes["api-users"].rate_rps
    assert np.mean(a["goodput_rps"][after]) > 0.9 * rate
    # without the limit: no recovery
    assert np.mean(b["goodput_rps"][after]) < 0.5 * np.mean(a["goodput_rps"][after])
    assert np.nanmean(b["success_ratio"][after]) < 0.5
