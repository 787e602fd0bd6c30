"""Steady-state hypothesis: triggers, phases, rolling-window tolerances, verdict; the spec additions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.slo import steady_state
from sim.analysis.windows import Series, fault_windows, phases, surges, tolerance_checks
from sim.engine.histogram import N_BINS, quantile_from_counts
from sim.experiment.run import run
from sim.spec import ScenarioError, parse_scenario

from .analysis_scenarios import fake_run, near_capacity, retry_storm


def test_percentile_tolerance_agrees_with_the_histogram_quantile():
    rng = np.random.default_rng(7)
    n = 40
    lat = rng.integers(0, 4, size=(n, N_BINS)) * (rng.random((n, N_BINS)) < 0.1)
    data = fake_run(n, 1.0, lat.sum(axis=1), lat.sum(axis=1), lat, p99_latency_s=0.5, window_s=5, min_requests=1)
    series = Series(data)
    check = next(c for c in tolerance_checks(series, data.scenario.slo, 0) if c.name == "p99_latency_s")
    for i in range(n):
        window = lat[max(0, i - 4): i + 1].sum(axis=0)
        if window.sum() == 0:
            continue
        q = float(quantile_from_counts(window, 0.99))
        assert bool(check.violated[i]) == (q > 0.5), i


def test_windows_are_clipped_to_the_phase_and_small_windows_are_not_judged():
    ended = np.full(20, 10)
    success = np.where(np.arange(20) < 10, 2, 10)  # terrible first half, perfect second half
    data = fake_run(20, 1.0, ended, success, availability=0.9, window_s=5, min_requests=10)
    series = Series(data)
    (avail,) = tolerance_checks(series, data.scenario.slo, start=10)
    assert not avail.violated[10:].any()  # nothing from before bucket 10 leaks in
    (avail0,) = tolerance_checks(series, data.scenario.slo, start=0)
    assert avail0.violated[:10].all() and avail0.violated[10:14].all() and not avail0.violated[14:].any()
    data = fake_run(20, 1.0, np.ones(20, dtype=int), np.zeros(20, dtype=int), window_s=5, min_requests=10)
    (sparse,) = tolerance_checks(Series(data), data.scenario.slo, 0)
    assert not sparse.judged.any() and not sparse.violated.any()


def test_trigger_windows_and_phases():
    log = [{"t_s": 10.0, "fault": "a", "kind": "crash", "event": "start"},
           {"t_s": 10.0, "fault": "a", "kind": "crash", "event": "end"},
           {"t_s": 30.0, "fault": "b", "kind": "hang", "event": "start"},
           {"t_s": 35.5, "fault": "b", "kind": "hang", "event": "end"},
           {"t_s": 50.0, "fault": "c", "kind": "hang", "event": "start"}]
    w = fault_windows(log)
    assert [(t.label, t.start_s, t.end_s) for t in w] == [("a", 10.0, 10.0), ("b", 30.0, 35.5), ("c", 50.0, None)]
    w = w[:2]
    data = fake_run(60, 1.0, np.ones(60, dtype=int), np.ones(60, dtype=int))
    ph = phases(Series(data), w)
    assert ph.ranges == {"before": (0, 10), "during": (10, 36), "after": (36, 60)}


def test_a_rate_schedule_above_the_base_rate_is_a_surge():
    s = surges(retry_storm())
    assert [(t.kind, t.start_s, t.end_s) for t in s] == [("surge", 60, 80)]


def test_control_run_holds_and_a_crash_near_capacity_deviates_during_the_fault():
    held = steady_state(run(near_capacity(faults=False)))
    assert held["verdict"] == "held"
    assert held["phases"]["before"]["status"] == "held"
    assert held["phases"]["during"]["status"] == "not observed"
    crash = steady_state(run(near_capacity()))
    assert crash["verdict"] == "deviated"
    # same seed, same arrivals: the phase before the fault is the control's and holds
    assert crash["phases"]["before"]["status"] == "held"
    during = [f for f in crash["failures"] if f["phase"] == "during"]
    assert during and all(f["first_violation_s"] > 60 for f in during)
    assert crash["headline"].startswith("deviated")


def test_slo_spec_error_rates_and_monitoring_references_are_validated():
    base = near_capacity().model_dump(mode="json")
    base["slo"]["max_error_rate"] = {"timeout": 0.01, "no_such_reason": 0.1}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base)
    assert any(p.path.startswith("slo.max_error_rate") for p in err.value.problems)
    base = near_capacity().model_dump(mode="json")
    base["monitoring"] = {"mitigations": [{"name": "rollback", "at_s": 90, "fault": "nope"}],
                          "alerts": [{"name": "x", "metric": "latency_p99_s", "reason": "timeout", "op": "above",
                                      "threshold": 1}]}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "reason is only allowed with metric error_ratio" in text
    base["monitoring"]["alerts"][0].pop("reason")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base)
    assert [str(p) for p in err.value.problems] == ["monitoring.mitigations[0].fault: no fault with id 'nope'"]


def test_error_rate_tolerance_per_reason():
    data = fake_run(30, 1.0, np.full(30, 100), np.full(30, 97), window_s=10, min_requests=1,
                 max_error_rate={"timeout": 0.02}, availability=0.9)
    checks = {c.name: c for c in tolerance_checks(Series(data), data.scenario.slo, 0)}
    assert not checks["availability"].violated.any()
    assert checks["error_rate:timeout"].violated.all()
    assert math.isclose(float(checks["error_rate:timeout"].value[5]), 0.03)
