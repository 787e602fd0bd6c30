"""Metastability: once the last trigger is removed, does the system return to its steady state?

From the end of the last trigger, every SLO tolerance is checked on rolling windows clipped to start
there (so the trigger's own damage is not counted). The system has *recovered* at the end of the
first bucket from which every judged window holds until the end of the run: "recovered after X s"
(flagged when slower than ``slo.recovery_window_s``). When it never recovers and the run lasted at
least the recovery window after the trigger, it is "stuck (metastable)": a sustaining mechanism
(retries, wasted work on abandoned requests, cold caches) keeps it out of steady state with no
trigger left; a shorter run is "undetermined". The
verdict is backed by time-series evidence: goodput, success ratio, attempts per arrival and the
backlog, before the trigger, when it ended, and at the end of the run; a stuck verdict also names
what sustains it from the recorded causes the cascade is built from (``sustained_by``: the
components still impaired at the end and the load sources their last change names, e.g. retries).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.analysis.windows import Series, phases, tolerance_checks, triggers


def _evidence(series: Series, lo: int, hi: int) -> dict[str, Any] | None:
    """Mean rates over buckets lo..hi-1: what the time series says about that stretch."""
    if hi <= lo:
        return None
    span_s = float(series.end_s[hi - 1] - series.t_s[lo]) or series.bucket_s
    ended = int(series.ended[lo:hi].sum())
    arrivals = int(series.arrivals[lo:hi].sum())
    return {
        "from_s": float(series.t_s[lo]), "to_s": float(series.end_s[hi - 1]),
        "arrival_rps": arrivals / span_s,
        "goodput_rps": int(series.success[lo:hi].sum()) / span_s,
        "success_ratio": int(series.success[lo:hi].sum()) / ended if ended else None,
        "attempts_per_arrival": int(series.attempts[lo:hi].sum()) / arrivals if arrivals else None,
        "in_flight_end": int(series.in_flight[hi - 1]),
    }


def metastability(data: Any, series: Series | None = None) -> dict[str, Any]:
    """'recovered' (after X s), 'stuck' (metastable), 'undetermined' (run too short) or 'not applicable'."""
    series = series or Series(data)
    slo = data.scenario.slo
    trig = triggers(data)
    ph = phases(series, trig)
    window_s = slo.recovery_window_s
    base = {"recovery_window_s": window_s, "trigger_end_s": ph.last_end_s, "recovered_after_s": None,
            "recovered_at_s": None, "within_window": None, "evidence": {}, "sustained_by": []}
    if not trig:
        return {**base, "verdict": "not applicable", "text": "no trigger: nothing to recover from"}
    if ph.open_ended:
        still = [t.label for t in trig if t.end_s is None]
        return {**base, "verdict": "not applicable",
                "text": f"the trigger is never removed ({', '.join(still)} lasts to the end of the run)"}
    t_end = ph.last_end_s
    start = max(series.index_at(t_end), series.measured_from)
    n = series.n
    b_lo, b_hi = ph.ranges["before"]
    evidence = {"before": _evidence(series, b_lo, b_hi)}
    w = series.window_buckets(slo.window_s)
    evidence["end_of_trigger"] = _evidence(series, max(0, start - w), start)
    evidence["end_of_run"] = _evidence(series, max(start, n - w), n)
    base["evidence"] = evidence
    if start >= n:
        return {**base, "verdict": "undetermined", "text": "the run ends when the last trigger ends"}
    checks = tolerance_checks(series, slo, start)
    bad = np.zeros(n, dtype=bool)
    judged = np.zeros(n, dtype=bool)
    for c in checks:
        bad |= c.violated
        judged |= c.judged
    tail = np.arange(start, n)
    # first index from which no window is bad until the end (suffix of all-good)
    bad_idx = tail[bad[start:]]
    rec_i = start if not len(bad_idx) else int(bad_idx[-1]) + 1
    run_after_s = float(series.duration_s - t_end)
    if rec_i < n and judged[rec_i:].any():
        recovered_at = float(series.end_s[rec_i])
        after = max(0.0, recovered_at - t_end)
        base.update(recovered_at_s=recovered_at, recovered_after_s=after)
        within = after <= window_s
        base["within_window"] = within
        return {**base, "verdict": "recovered",
                "text": f"recovered after {after:g} s (steady state from {recovered_at:g} s; "
                        + (f"recovery window {window_s:g} s)" if within
                           else f"slower than the {window_s:g} s recovery window)")}
    if run_after_s < window_s:
        return {**base, "verdict": "undetermined",
                "text": f"not back to steady state when the run ended {run_after_s:g} s after the trigger "
                        f"(shorter than the {window_s:g} s recovery window)"}
    ev = evidence["end_of_run"]
    detail = ""
    if ev and ev["success_ratio"] is not None:
        detail = (f"; in the last {slo.window_s:g} s: success ratio {100 * ev['success_ratio']:.1f} %, "
                  f"{ev['attempts_per_arrival'] or 0:.2f} attempts per arrival, backlog {ev['in_flight_end']}")
    held = sustained_by(data.transitions)
    base["sustained_by"] = held
    return {**base, "verdict": "stuck",
            "text": f"stuck (metastable): no return to steady state in the {run_after_s:g} s after the trigger "
                    f"ended at {t_end:g} s{detail}{_sustained_text(held)}"}


def sustained_by(transitions: list[Any]) -> list[dict[str, Any]]:
    """What keeps the system out of steady state with no trigger left, from the recorded causes (the same
    ones the cascade is built from): each component still in a state worse than healthy at the end of the
    run, with the mechanism of its last change and the load sources it names (retries with their
    amplification, demand, a fault still raising the load)."""
    last: dict[str, Any] = {}
    for t in transitions:
        last[t.component] = t
    out = []
    for name in sorted(last):
        t = last[name]
        if t.state == "healthy":
            continue
        out.append({"component": name, "state": t.state, "since_s": t.t_s, "mechanism": t.cause.mechanism,
                    "loads": [x.text() for x in t.cause.loads]})
    return out


def _sustained_text(held: list[dict[str, Any]]) -> str:
    """'; still impaired at the end: api-0, api-1 overloaded (load from retries of users: ...)'."""
    if not held:
        return ""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for h in held:
        loads = tuple(x.split(":")[0] for x in h["loads"])  # 'retries of users', without the varying figures
        groups.setdefault((h["state"], loads), []).append(h["component"])
    parts = []
    for (state, loads), names in groups.items():
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        parts.append(f"{shown} {state}" + (f" (load from {', '.join(loads)})" if loads else ""))
    return "; still impaired at the end: " + "; ".join(parts)
