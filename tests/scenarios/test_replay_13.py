"""Card 13 (AWS us-east-1 2021-12-07): a connection surge congests the devices between two networks, and
retries without backoff keep them congested after it (a metastable failure).

Shape, counterfactual (a retry budget) and sensitivity (attempts x fresh load against the devices'
capacity) of scenarios/incidents/aws-2021-12-07-internal-network.yaml, by overrides on one seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario

FILE = Path(__file__).resolve().parents[2] / "scenarios" / "incidents" / "aws-2021-12-07-internal-network.yaml"
SURGE_S, SURGE_END_S = 1800.0, 2400.0  # 07:30 to 07:40 PST
CAPACITY_RPS = 4 * 1 / 0.2
FRESH_RPS = 8.0
RETRY = "workload.clients.internal-services.retry"


LIMIT = "response.actions.move-traffic-off"
NO_LIMIT = {"response.actions": []}
"""Without the operators' traffic limit: the system left to itself."""


def _replay(**changes) -> RunResult:
    limit = {} if any(k.startswith(LIMIT) for k in changes) else NO_LIMIT
    return run(load_scenario(FILE, {"run.duration_s": 4200.0, **limit, **changes}))


def _ok(res: RunResult, t0_s: float, t1_s: float = np.inf) -> float:
    ts = res.timeseries
    keep = (ts["t_s"] >= t0_s) & (ts["t_s"] < t1_s)
    return float(ts["outcome_success"][keep].sum() / max(1, ts["ended"][keep].sum()))


@pytest.fixture(scope="module")
def replay() -> RunResult:
    return _replay()


def test_the_congestion_starts_with_the_surge_and_outlasts_it(replay):
    assert _ok(replay, 300, SURGE_S) > 0.99
    assert _ok(replay, SURGE_S + 120, SURGE_END_S) < 0.05
    assert _ok(replay, SURGE_END_S + 600) < 0.05  # the surge is over; the retries keep it congested
    ts = replay.timeseries
    late = ts["t_s"] >= SURGE_END_S + 600
    attempts = ts["attempts"][late].sum() / ts["ended"][late].sum()
    assert attempts > 4.5  # nearly every request uses its 5 attempts


def test_a_retry_budget_lets_it_recover_after_the_surge():
    budget = _replay(**{f"{RETRY}.budget": {"budget_percent": 20}})
    assert _ok(budget, SURGE_S + 120, SURGE_END_S) < 0.5  # the surge itself still hurts
    assert _ok(budget, SURGE_END_S + 900) > 0.99


def test_limiting_traffic_drains_the_devices_and_it_stays_healthy_after_the_limit_is_lifted():
    limited = _replay(**{f"{LIMIT}.at_s": 3000.0, f"{LIMIT}.duration_s": 600.0, "run.duration_s": 4800.0})
    assert _ok(limited, SURGE_END_S + 60, 3000) < 0.05  # stuck until the operators act
    assert _ok(limited, 3300, 3600) > 0.9  # the devices drained below the limit
    assert _ok(limited, 3900) > 0.99  # limit lifted at 3600: the fresh load alone fits, no relapse


@pytest.mark.parametrize("attempts", [2, 3])
def test_it_sustains_itself_exactly_when_attempts_times_the_fresh_load_exceed_the_capacity(attempts):
    res = _replay(**{f"{RETRY}.max_attempts": attempts})
    stuck = attempts * FRESH_RPS > CAPACITY_RPS  # 16 < 20 recovers, 24 > 20 does not
    after = _ok(res, SURGE_END_S + 1200)
    assert (after < 0.05) if stuck else (after > 0.99)
