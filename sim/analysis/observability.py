"""What the monitors saw, beside what happened: the observability gap.

A real monitor sees HTTP status codes, latency and saturation. A silently wrong answer is a 200
with a normal latency: alert rules count it as a success (``monitor_served``), so only a *quality
probe* sees it, a sampled evaluation of served answers whose verdicts arrive late (a grader, canary
prompts). The probe is simulated on the recorded per-bucket counts: each bucket's served answers
are sampled binomially with the probe's ``sample_share`` and the wrong ones among the sample drawn
hypergeometrically, from a random stream of the run's seed (so the same run gives the same probe),
and a bucket's verdicts become known ``detection_delay_s`` after the bucket ends.

``observability_gap`` sets the truth (the steady-state verdict, wrong answers served and to how
many users) beside what the monitors saw and when (the first alert, the probe), and names the gap:
how long the truth was bad before any monitor said so, or that none ever did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.analysis.windows import Series
from sim.engine.alerting import evaluate_probe
from sim.engine.request import SUCCESS_OUTCOMES


def monitor_served(series: Series) -> np.ndarray:
    """Per bucket, the requests a monitor counts as successes: every served answer (an HTTP 200),
    right, silently wrong or a fallback."""
    out = np.zeros(series.n, dtype=np.int64)
    for outcome in SUCCESS_OUTCOMES:
        counts = series.outcome.get(outcome)
        if counts is not None:
            out = out + counts
    return out


def probe_episodes(series: Series, probe: Any, seed: int) -> list[dict[str, Any]]:
    """Firing episodes of the quality probe, in the same form as an alert rule's.

    The evaluation is ``sim.engine.alerting``'s, the one the operators are paged by during the run.
    """
    episodes, counts = evaluate_probe(probe, seed, series.buckets(), series.bucket_s, series.warmup_s,
                                      series.duration_s)
    for e, n in zip(episodes, counts, strict=True):
        e["source"] = "quality_probe"
        e["text"] = (f"quality probe {probe.name}: {100 * e['value']:.1f} % of {n} evaluated answers wrong, "
                     f"above {100 * probe.threshold:g} % (sampling {100 * probe.sample_share:g} % of answers, "
                     f"verdicts {probe.detection_delay_s:g} s after serving)")
    return episodes


def probe_rule_dict(probe: Any) -> dict[str, Any]:
    return probe.model_dump(mode="json")


def _first_last(counts: np.ndarray | None, series: Series) -> tuple[float | None, float | None]:
    if counts is None:
        return None, None
    idx = np.flatnonzero(counts[series.measured_from:]) + series.measured_from
    if not len(idx):
        return None, None
    return float(series.t_s[idx[0]]), float(series.end_s[idx[-1]])


def observability_gap(data: Any, steady: dict[str, Any], inc: dict[str, Any],
                      series: Series | None = None) -> dict[str, Any]:
    """The truth, what the monitors saw and when, and the gap between them (JSON-ready)."""
    series = series or Series(data)
    m = data.summary.get("measured", {})
    outcomes = m.get("outcomes", {}) or {}
    served = sum(outcomes.get(o, 0) for o in SUCCESS_OUTCOMES)
    wrong = int(outcomes.get("wrong_answer", 0))
    users = m.get("users", {}) or {}
    first_wrong, last_wrong = _first_last(series.outcome.get("wrong_answer"), series)
    failures = steady.get("failures", [])
    first_bad = min((f["first_violation_s"] for f in failures), default=None)
    start = inc.get("incident_start_s")
    seen = [e for e in inc["alerts"] if start is None or e["fired_s"] >= start]
    first_alert = seen[0] if seen else None
    probe_alerts = [e for e in inc["alerts"] if e.get("source") == "quality_probe"]
    truth = {
        "verdict": steady["verdict"], "first_violation_s": first_bad,
        "wrong_answers": wrong, "wrong_answer_share_of_served": wrong / served if served else None,
        "users_served_wrong_answers": users.get("wrong_answer"), "users_active": users.get("active"),
        "first_wrong_answer_s": first_wrong, "last_wrong_answer_s": last_wrong,
    }
    monitors = {
        "first_alert_s": None if first_alert is None else first_alert["fired_s"],
        "first_alert": None if first_alert is None else first_alert["alert"],
        "quality_probe": inc.get("quality_probe") is not None,
        "probe_first_alert_s": probe_alerts[0]["fired_s"] if probe_alerts else None,
    }
    gap_s = (monitors["first_alert_s"] - first_bad if first_bad is not None and monitors["first_alert_s"] is not None
             else None)
    wrong_gap_s = (monitors["probe_first_alert_s"] - first_wrong
                   if first_wrong is not None and monitors["probe_first_alert_s"] is not None else None)
    return {"truth": truth, "monitors": monitors, "detection_gap_s": gap_s, "wrong_answer_gap_s": wrong_gap_s,
            "undetected": first_bad is not None and first_alert is None,
            "wrong_answers_unseen": wrong > 0 and not probe_alerts,
            "summary": _summary(truth, monitors, gap_s, wrong_gap_s)}


def _summary(truth: dict[str, Any], monitors: dict[str, Any], gap_s: float | None, wrong_gap_s: float | None) -> str:
    parts = []
    if truth["wrong_answers"]:
        users = truth["users_served_wrong_answers"]
        who = f" to {users} of {truth['users_active']} users" if users is not None else ""
        share = truth["wrong_answer_share_of_served"] or 0.0
        parts.append(f"{truth['wrong_answers']} answers ({100 * share:.2f} % of served) were silently wrong{who}")
        if monitors["probe_first_alert_s"] is not None:
            parts.append(f"the quality probe alerted {wrong_gap_s:g} s after the first wrong answer")
        elif monitors["quality_probe"]:
            parts.append("the quality probe never alerted")
        else:
            parts.append("no monitor could see them (no quality probe)")
    if truth["first_violation_s"] is None:
        parts.append("the steady state held" + ("" if monitors["first_alert_s"] is None
                                                else f"; an alert fired at {monitors['first_alert_s']:g} s"))
    elif monitors["first_alert_s"] is None:
        parts.append(f"the steady state deviated from {truth['first_violation_s']:g} s and no alert fired")
    else:
        lag = f"{gap_s:g} s after" if gap_s >= 0 else f"{-gap_s:g} s before"
        parts.append(f"the first alert ({monitors['first_alert']}) fired {lag} the steady state first deviated")
    return "; ".join(parts)
