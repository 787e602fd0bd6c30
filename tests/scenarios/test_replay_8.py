"""Card 8 (OpenAI 2024-12-11): control plane overwhelmed, DNS caches hide it for one TTL, then a cliff.

Shape, counterfactuals (a staging-sized cluster, static stability) and sensitivity (record TTL,
the callers' retries) of scenarios/incidents/openai-2024-12-11-control-plane-dns.yaml. Variants are
scenario overrides of the same file on the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario

FILE = Path(__file__).resolve().parents[2] / "scenarios" / "incidents" / "openai-2024-12-11-control-plane-dns.yaml"
DEPLOY_S = 720.0  # 15:12 PST
TTL_S = 1200.0
FRESH_OPS_S = 100 + 5 * 40  # the control plane's steady load once the change is gone
CAPACITY_OPS_S = 1000.0


def _replay(**changes) -> RunResult:
    return run(load_scenario(FILE, changes))


def _first(res: RunResult, component: str, state: str, after_s: float = 0.0) -> float | None:
    return next((t.t_s for t in res.transitions if t.component == component and t.state == state
                 and t.cause.kind == "mechanism" and t.t_s > after_s), None)


@pytest.fixture(scope="module")
def replay() -> RunResult:
    return _replay()


@pytest.fixture(scope="module")
def rolled_back() -> dict[bool, RunResult]:
    """The rollback run at 17:14 without waiting for the control plane (out of band), with and without the
    callers' retries."""
    return {retries: _replay(**{"response.actions.roll-back-telemetry.at_s": DEPLOY_S + 8040.0,
                                "response.actions.roll-back-telemetry.needs_control_plane": False,
                                "run.duration_s": 9900.0,
                                "discovery.control_plane.retry.max_attempts": 5 if retries else 1})
            for retries in (True, False)}


def test_control_plane_first_then_one_ttl_of_cached_dns_then_a_cliff_and_no_recovery_while_locked_out(replay):
    degraded = _first(replay, "control-plane", "degraded")
    over = _first(replay, "control-plane", "overloaded")
    # the queue grows from the deploy; calls time out about 4 minutes later (published: 15:16)
    assert DEPLOY_S < degraded < over and 180 <= over - DEPLOY_S <= 300
    disc = next(t for t in replay.transitions if t.component == "discovery" and t.state == "down")
    over_id = next(t.id for t in replay.transitions if t.component == "control-plane" and t.state == "overloaded")
    assert disc.t_s == pytest.approx(over + TTL_S) and disc.cause.parents == (over_id,)  # one record TTL later
    ts = replay.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    assert np.nanmin(ok[t < disc.t_s - 60]) > 0.97  # DNS caches hide the failure
    assert np.nanmax(ok[t >= disc.t_s + 60]) < 0.01  # then a cliff (clients' own 30 s cache on top)
    # locked out: the rollback waits for the control plane, which never serves again
    log = replay.summary["response"]["log"]
    waits = [e for e in log if e["event"] == "action waits"]
    assert waits and waits[0]["t_s"] == pytest.approx(2160) and "control plane" in waits[0]["text"]
    assert not [e for e in log if e["event"] == "action step"]
    assert [e["event"] for e in replay.fault_log] == ["start"]  # the change is never removed
    assert _first(replay, "control-plane", "degraded", after_s=over) is None


def test_a_staging_sized_cluster_shows_nothing():
    staging = _replay(**{"pools.inference.replicas": 4, "run.duration_s": 2400.0})  # +0.6 x 16 ops/s
    assert _first(staging, "control-plane", "overloaded") is None
    assert staging.summary["measured"]["availability"] > 0.99


def test_static_stability_keeps_the_data_plane_serving_through_the_control_plane_outage():
    stable = _replay(**{"discovery.static_stability": True, "run.duration_s": 3600.0})
    assert _first(stable, "control-plane", "overloaded") is not None
    assert stable.summary["measured"]["availability"] > 0.99


def test_the_record_ttl_moves_the_delay_one_for_one(replay):
    short = _replay(**{"discovery.control_plane.record_ttl_s": 600.0, "run.duration_s": 2400.0})
    over, over_short = _first(replay, "control-plane", "overloaded"), _first(short, "control-plane", "overloaded")
    assert over_short == over  # the control plane does not care about the TTL
    gap = _first(replay, "discovery", "down") - over
    gap_short = _first(short, "discovery", "down") - over_short
    assert gap - gap_short == pytest.approx(600.0)


def test_without_retries_an_out_of_band_rollback_is_enough_with_them_the_failure_sustains_itself(rolled_back):
    removed_s = DEPLOY_S + 8040.0
    with_retries, without = rolled_back[True], rolled_back[False]
    # same trigger, same overload time: before the first timeout no call has failed, so nothing is retried
    assert _first(with_retries, "control-plane", "overloaded") == _first(without, "control-plane", "overloaded")
    # under total failure 5 attempts per call make 5 x 300 = 1500 ops/s > 1000: still overwhelmed (metastable)
    assert 5 * FRESH_OPS_S > CAPACITY_OPS_S
    assert _first(with_retries, "control-plane", "degraded", after_s=removed_s) is None
    assert with_retries.summary["components"]["control-plane"]["peak_load_ops_s"] > 4 * 1260
    # without retries the full queue (300 s of work) drains at 1000 - 300 ops/s: serving once under 60 s of work
    back = _first(without, "control-plane", "degraded", after_s=removed_s)
    predicted = (300 - 60) * CAPACITY_OPS_S / (CAPACITY_OPS_S - FRESH_OPS_S)
    assert back - removed_s == pytest.approx(predicted, abs=3)
    ts = without.timeseries
    assert np.nanmin(ts["success_ratio"][ts["t_s"] >= back + 60]) > 0.97  # the data plane follows
    assert np.nanmax(with_retries.timeseries["success_ratio"][ts["t_s"] >= back + 60]) < 0.01
