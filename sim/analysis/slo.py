"""The steady-state hypothesis (as Chaos Toolkit defines it): do the SLO tolerances hold before the
first trigger, during the triggers and after the last one ends?

Each tolerance of the scenario's ``slo`` section (availability, p99 latency, p99 TTFT, error rate
per reason) is checked on rolling windows of ``slo.window_s`` ending at every bucket, clipped to the
phase so that one phase's data never judges another. Windows with fewer than ``slo.min_requests``
ended requests are not judged. The verdict is *held* when no judged window violates any tolerance,
else *deviated*, naming each tolerance that failed, in which phase, and when it first failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.analysis.windows import Series, check_value_text, phases, tolerance_checks, triggers

PHASE_TITLES = {
    "before": "before the first trigger", "during": "during the triggers", "after": "after the last trigger",
}


def steady_state(data: Any, series: Series | None = None) -> dict[str, Any]:
    """Verdict held / deviated, per phase and per tolerance, with the first violation's time and value."""
    series = series or Series(data)
    slo = data.scenario.slo
    trig = triggers(data)
    ph = phases(series, trig)
    out_phases: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    for name, (lo, hi) in ph.ranges.items():
        if hi <= lo:
            instant = name == "during" and trig and ph.first_start_s == ph.last_end_s
            out_phases[name] = {"status": "instant trigger" if instant else "not observed", "from_s": None,
                                "to_s": None, "checks": []}
            continue
        checks = tolerance_checks(series, slo, lo)
        rows = []
        for c in checks:
            judged = c.judged[lo:hi]
            bad = c.violated[lo:hi]
            row: dict[str, Any] = {
                "tolerance": c.name, "description": c.description, "judged_windows": int(judged.sum()),
                "violated_windows": int(bad.sum()), "first_violation_s": None, "last_violation_s": None,
                "value_at_first_violation": None,
            }
            if bad.any():
                idx = np.flatnonzero(bad) + lo
                first, last = int(idx[0]), int(idx[-1])
                row["first_violation_s"] = float(series.end_s[first])
                row["last_violation_s"] = float(series.end_s[last])
                row["value_at_first_violation"] = check_value_text(c, series, first, slo.window_s, lo)
                failures.append({"phase": name, **row})
            rows.append(row)
        judged_any = any(r["judged_windows"] for r in rows)
        violated = any(r["violated_windows"] for r in rows)
        status = "deviated" if violated else ("held" if judged_any else "not judged")
        ended = int(series.ended[lo:hi].sum())
        success = int(series.success[lo:hi].sum())
        out_phases[name] = {
            "status": status, "from_s": float(series.t_s[lo]), "to_s": float(series.end_s[hi - 1]),
            "ended": ended, "availability": success / ended if ended else None, "checks": rows,
        }
    judged = any(p["status"] != "not judged" for p in out_phases.values())
    verdict = "deviated" if failures else ("held" if judged else "not judged")
    return {
        "verdict": verdict,
        "headline": _headline(verdict, failures, out_phases),
        "window_s": slo.window_s,
        "min_requests": slo.min_requests,
        "tolerances": _tolerances(slo),
        "first_trigger_s": ph.first_start_s,
        "last_trigger_end_s": ph.last_end_s,
        "phases": out_phases,
        "failures": failures,
    }


def _tolerances(slo: Any) -> list[str]:
    out = [f"availability ≥ {slo.availability:g}"]
    if slo.p99_latency_s is not None:
        out.append(f"p99 latency ≤ {slo.p99_latency_s:g} s")
    if slo.p99_ttft_s is not None:
        out.append(f"p99 TTFT ≤ {slo.p99_ttft_s:g} s")
    out.extend(f"{reason} rate ≤ {limit:g}" for reason, limit in sorted(slo.max_error_rate.items()))
    return out


def _headline(verdict: str, failures: list[dict[str, Any]], phases_: dict[str, Any]) -> str:
    if verdict == "not judged":
        return "not judged: no window had enough requests to judge a tolerance"
    if verdict == "held":
        judged = [p for p, v in phases_.items() if v["status"] == "held"]
        return "held: every tolerance held " + (", ".join(PHASE_TITLES[p] for p in judged) or "(nothing judged)")
    first = min(failures, key=lambda f: f["first_violation_s"])
    phases_failed = sorted({f["phase"] for f in failures}, key=list(PHASE_TITLES).index)
    return (f"deviated: {first['description']} failed {PHASE_TITLES[first['phase']]} at "
            f"{first['first_violation_s']:g} s (measured {first['value_at_first_violation']}); "
            f"deviated phases: {', '.join(phases_failed)}")
