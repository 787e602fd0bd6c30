"""Alert rules, time to detect / mitigate / recover, status-page timeline, and the error budget."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import analyze, format_analysis
from sim.analysis.budget import error_budget
from sim.analysis.incident import alert_rules, clock, evaluate_alert
from sim.analysis.windows import Series
from sim.experiment.run import run
from sim.spec.monitoring import AlertSpec

from .analysis_scenarios import fake_run, near_capacity

MONITORING = {
    "alerts": [{"name": "errors", "metric": "error_ratio", "op": "above", "threshold": 0.05, "window_s": 10,
                "for_s": 5}],
    "mitigations": [{"name": "restart-api-0", "at_s": 140, "action": "restart the crashed replica",
                     "fault": "crash-one"}],
}


@pytest.fixture(scope="module")
def crash_run():
    return run(near_capacity(monitoring=MONITORING))


def test_status_page_timeline_is_ordered_and_times_are_consistent(crash_run):
    a = analyze(crash_run)
    inc = a["incident"]
    assert not inc["rules_derived_from_slo"]
    statuses = [s["status"] for s in inc["status"]]
    assert statuses[0] == "Investigating"
    assert statuses == [s for s in ("Investigating", "Identified", "Monitoring", "Resolved") if s in statuses]
    times = [s["t_s"] for s in inc["status"]]
    assert times == sorted(times)
    first = inc["alerts"][0]
    assert first["fired_s"] - first["pending_s"] >= 5 - 1e-9  # for_s
    assert inc["time_to_detect_s"] == pytest.approx(first["fired_s"] - 60)
    assert inc["time_to_mitigate_s"] == pytest.approx(140 - 60)
    identified = next(s for s in inc["status"] if s["status"] == "Identified")
    assert identified["t_s"] == 140 and "restart-api-0" in identified["text"]
    if "Resolved" in statuses:
        assert inc["time_to_recover_s"] == pytest.approx(inc["status"][-1]["t_s"] - 60)
        assert inc["status"][-1]["t_s"] >= a["metastability"]["recovered_at_s"]
    assert all(s["clock"] == clock(s["t_s"]) for s in inc["status"])
    text = format_analysis(a)
    assert "Investigating" in text and "CASCADE" in text


def test_for_duration_delays_firing(crash_run):
    series = Series(crash_run)
    base = dict(name="e", metric="error_ratio", op="above", threshold=0.05, window_s=10)
    now = evaluate_alert(series, AlertSpec(**base, for_s=0))
    later = evaluate_alert(series, AlertSpec(**base, for_s=8))
    assert now and later
    assert now[0]["fired_s"] == now[0]["pending_s"]
    assert later[0]["fired_s"] >= now[0]["fired_s"] + 8 - 1e-9


def test_alert_rules_are_derived_from_the_slo_when_none_are_given():
    scen = near_capacity()
    rules, derived = alert_rules(scen)
    assert derived
    assert rules[0].metric == "success_ratio" and rules[0].threshold == scen.slo.availability
    assert rules[0].window_s == scen.slo.window_s


def test_control_run_declares_no_incident():
    inc = analyze(run(near_capacity(faults=False)))["incident"]
    assert inc["status"] == [] and inc["time_to_detect_s"] is None


def test_error_budget_follows_the_sre_formulas(crash_run):
    b = error_budget(crash_run)
    target = crash_run.scenario.slo.availability
    assert b["allowed_bad_minutes"] == pytest.approx((1 - target) * 30 * 24 * 60)
    m = crash_run.summary["measured"]
    failed = m["ended"] - m["outcomes"]["success"]
    assert b["failed_requests"] == failed and b["ended_requests"] == m["ended"]
    assert b["burn_rate"] == pytest.approx(failed / m["ended"] / (1 - target))
    assert b["request_budget_consumed"] == pytest.approx(b["burn_rate"] * b["measured_s"] / (30 * 86400))
    assert 0 <= b["bad_minutes"] <= b["judged_minutes"] <= b["measured_s"] / 60 + 1e-9
    assert b["time_budget_consumed"] == pytest.approx(b["bad_minutes"] / b["allowed_bad_minutes"])


def test_a_minute_is_bad_when_a_tolerance_fails_over_it():
    n = 300  # five minutes of 1 s buckets; the second minute serves 90 %, the fourth 50 %
    success = np.full(n, 20)
    success[60:120] = 18
    success[180:240] = 10
    b = error_budget(fake_run(n, 1.0, np.full(n, 20), success, availability=0.95))
    assert b["minute_s"] == 60
    assert b["bad_minutes"] == pytest.approx(2.0)
    assert b["judged_minutes"] == pytest.approx(5.0)
    assert b["time_budget_consumed"] == pytest.approx(2.0 / (0.05 * 30 * 24 * 60))
