"""What the monitors saw: wrong answers are invisible to alert rules; a quality probe sees them late.

The probe's firing time has a reference: after the fault starts at t0, the verdicts known at
t0 + d + tau cover tau seconds of bad answers out of a window of W, so the wrong share in the
window is about w * tau / W and crosses the threshold theta at tau* = theta * W / w. The tolerance
comes from the sampling: n = rate x sample_share x W verdicts in the window give the share a
standard deviation sqrt(theta (1 - theta) / n), i.e. W / w times that in time.
"""

from __future__ import annotations

import math

import pytest

from sim.analysis import analyze
from sim.experiment.run import run
from sim.spec import ScenarioError, parse_scenario

RATE_RPS = 50.0
WRONG = 0.5
T0_S = 100.0


def wrong_answers(quality_probe: dict | None = None, alerts: list | None = None):
    """Three plain replicas well below capacity; from 100 s to 300 s half of every answer is silently wrong."""
    monitoring: dict = {}
    if quality_probe is not None:
        monitoring["quality_probe"] = quality_probe
    if alerts is not None:
        monitoring["alerts"] = alerts
    return parse_scenario({
        "name": "silent-wrong",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 3,
                                "server": {"mode": "plain", "concurrency": 4,
                                           "service_time_s": {"kind": "exponential", "mean": 0.05}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb"], "users": 300, "timeout_s": 10,
                                  "arrival": {"kind": "poisson", "rate_rps": RATE_RPS}}]},
        "faults": [{"id": "silent", "kind": "wrong_answer", "target": {"pool": "api"}, "at_s": T0_S,
                    "duration_s": 200, "wrong_percent": 100 * WRONG}],
        "slo": {"availability": 0.99, "window_s": 30, "max_error_rate": {"wrong_answer": 0.01}},
        "monitoring": monitoring,
        "run": {"duration_s": 400, "warmup_s": 10, "bucket_s": 1, "seed": 4},
    })


PROBE = {"sample_share": 0.1, "detection_delay_s": 60, "threshold": 0.05, "window_s": 60, "min_samples": 10}
HTTP_ALERTS = [{"name": "errors", "metric": "error_ratio", "op": "above", "threshold": 0.01, "window_s": 30,
                "for_s": 0},
               {"name": "availability", "metric": "success_ratio", "op": "below", "threshold": 0.99,
                "window_s": 30, "for_s": 0},
               {"name": "slow", "metric": "latency_p99_s", "op": "above", "threshold": 2, "window_s": 30,
                "for_s": 0}]


@pytest.mark.parametrize("alerts", [None, HTTP_ALERTS], ids=["derived-from-slo", "http-rules"])
def test_without_a_quality_probe_wrong_answers_raise_no_alert(alerts):
    a = analyze(run(wrong_answers(alerts=alerts)))
    assert a["verdict"] == "deviated"  # the truth: a wrong answer is not a success
    assert a["incident"]["alerts"] == [] and a["incident"]["time_to_detect_s"] is None
    gap = a["observability"]
    assert gap["undetected"] and gap["wrong_answers_unseen"]
    truth = gap["truth"]
    assert truth["wrong_answer_share_of_served"] > 0.1
    assert 0 < truth["users_served_wrong_answers"] <= truth["users_active"]
    assert truth["first_wrong_answer_s"] == pytest.approx(T0_S, abs=1)
    assert "no monitor could see them" in gap["summary"]


def _expected_fire_s(probe: dict) -> tuple[float, float]:
    w_s, theta = probe["window_s"], probe["threshold"]
    tau_s = theta * w_s / WRONG
    n = RATE_RPS * probe["sample_share"] * w_s
    sd_s = (w_s / WRONG) * math.sqrt(theta * (1 - theta) / n)
    bucket_s = 1.0
    return T0_S + probe["detection_delay_s"] + tau_s, 4 * sd_s + 2 * bucket_s


def test_with_a_quality_probe_the_alert_fires_after_its_detection_delay():
    a = analyze(run(wrong_answers(quality_probe=PROBE)))
    probe_alerts = [e for e in a["incident"]["alerts"] if e.get("source") == "quality_probe"]
    assert probe_alerts and all(e["fired_s"] >= T0_S + PROBE["detection_delay_s"] for e in a["incident"]["alerts"])
    expected, tol = _expected_fire_s(PROBE)
    assert probe_alerts[0]["fired_s"] == pytest.approx(expected, abs=tol)
    assert a["incident"]["time_to_detect_s"] == pytest.approx(probe_alerts[0]["fired_s"] - T0_S)
    assert a["incident"]["status"][0]["status"] == "Investigating"
    gap = a["observability"]
    assert not gap["wrong_answers_unseen"]
    assert gap["wrong_answer_gap_s"] == pytest.approx(probe_alerts[0]["fired_s"] - gap["truth"]["first_wrong_answer_s"])


def test_a_longer_detection_delay_moves_the_alert_by_the_same_time():
    # monitoring does not act on the system and the probe's samples come from the seed: the same
    # answers and the same samples, only when the verdicts arrive changes
    first = analyze(run(wrong_answers(quality_probe=PROBE)))["incident"]["alerts"][0]["fired_s"]
    later = analyze(run(wrong_answers(quality_probe={**PROBE, "detection_delay_s": 120})))
    assert later["incident"]["alerts"][0]["fired_s"] - first == pytest.approx(60)


def test_an_alert_rule_cannot_count_wrong_answers():
    with pytest.raises(ScenarioError) as err:
        wrong_answers(alerts=[{"name": "wrong", "metric": "error_ratio", "reason": "wrong_answer", "op": "above",
                               "threshold": 0.01}])
    (problem,) = err.value.problems
    assert str(problem).startswith("monitoring.alerts[0]: wrong_answer is invisible to an HTTP monitor")
