"""Card 13 (AWS us-east-1 2021-12-07): a connection surge congests the devices between two networks, and
retries without backoff keep them congested after it (a metastable failure).

Shape on the published clock (the scenario as written: the surge at 07:30, the operators' limit at
09:28, lifted at 13:34), counterfactual (a retry budget) and sensitivity (attempts x fresh load against
the devices' capacity) of scenarios/incidents/aws-2021-12-07-internal-network.yaml, by overrides on one
seed. The variants end at 08:10 (``EARLY``), before the operators act, so they carry no action (an
action after the run's end is a bad input): they are the system left to itself, and until 09:28 the
replay is the same run.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from tests.scenarios.replays import incident, replay_fixtures

FILE = incident("aws-2021-12-07-internal-network.yaml")
SURGE_S, SURGE_END_S = 1800.0, 2400.0  # 07:30 to 07:40 PST
LIMIT_S, LIFTED_S = 8880.0, 23640.0  # 09:28 and 13:34 PST, published
CAPACITY_RPS = 4 * 1 / 0.2
FRESH_RPS = 8.0
RETRY = "workload.clients.internal-services.retry"
EARLY = {"run.duration_s": 4200.0, "response.actions": []}
"""Variants end at 08:10 PST, before the operators' limit (09:28), which they therefore leave out."""


def _variant(**changes) -> RunResult:
    return run(load_scenario(FILE, {**EARLY, **changes}))


def _ok(res: RunResult, t0_s: float, t1_s: float = np.inf) -> float:
    ts = res.timeseries
    keep = (ts["t_s"] >= t0_s) & (ts["t_s"] < t1_s)
    return float(ts["outcome_success"][keep].sum() / max(1, ts["ended"][keep].sum()))


scenario, replay = replay_fixtures(FILE)


def test_the_replay_runs_on_the_published_clock(replay):
    log = replay.summary["response"]["log"]
    assert [e["t_s"] for e in log if e["event"] == "action starts"] == [LIMIT_S]
    assert replay.scenario.response.actions[0].duration_s == LIFTED_S - LIMIT_S


def test_the_congestion_starts_with_the_surge_and_outlasts_it_until_the_operators_act(replay):
    assert _ok(replay, 300, SURGE_S) > 0.99
    assert _ok(replay, SURGE_S + 120, SURGE_END_S) < 0.05
    assert _ok(replay, SURGE_END_S + 600, LIMIT_S) < 0.05  # the surge is over; the retries keep it congested
    ts = replay.timeseries
    late = (ts["t_s"] >= SURGE_END_S + 600) & (ts["t_s"] < LIMIT_S)
    attempts = ts["attempts"][late].sum() / ts["ended"][late].sum()
    assert attempts > 4.5  # nearly every request uses its 5 attempts


def test_limiting_traffic_at_0928_drains_the_devices_and_it_stays_healthy_after_1334(replay):
    assert _ok(replay, LIMIT_S + 300, LIMIT_S + 900) > 0.9  # the devices drained below the limit
    assert _ok(replay, LIMIT_S + 900, LIFTED_S) > 0.99
    assert _ok(replay, LIFTED_S + 300) > 0.99  # limit lifted: the fresh load alone fits, no relapse
    assert replay.scenario.run.duration_s - LIFTED_S >= 1500  # and the run goes on 25 minutes after it


def test_without_the_operators_it_stays_congested_past_0928():
    alone = run(load_scenario(FILE, {"response.actions": [], "run.duration_s": LIMIT_S + 3600}))
    assert _ok(alone, SURGE_END_S + 600) < 0.05


def test_a_retry_budget_lets_it_recover_after_the_surge():
    budget = _variant(**{f"{RETRY}.budget": {"budget_percent": 20}})
    assert _ok(budget, SURGE_S + 120, SURGE_END_S) < 0.5  # the surge itself still hurts
    assert _ok(budget, SURGE_END_S + 900) > 0.99


@pytest.mark.parametrize("attempts", [2, 3])
def test_it_sustains_itself_exactly_when_attempts_times_the_fresh_load_exceed_the_capacity(attempts):
    res = _variant(**{f"{RETRY}.max_attempts": attempts})
    stuck = attempts * FRESH_RPS > CAPACITY_RPS  # 16 < 20 recovers, 24 > 20 does not
    after = _ok(res, SURGE_END_S + 1200)
    assert (after < 0.05) if stuck else (after > 0.99)
