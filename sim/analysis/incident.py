"""Monitoring and the incident timeline: alert rules over the simulated metrics, time to detect, to
mitigate and to recover, and a status-page timeline (Investigating / Identified / Monitoring / Resolved).

Alert rules see what a real monitor sees (``sim.analysis.observability``): a served answer is an
HTTP 200 whether it was right or silently wrong, so ratios and goodput count every served answer
as a success; only a quality probe sees wrong answers. Rules are evaluated like Prometheus rules,
once per time-series bucket (the evaluation interval) after the warm-up: the metric over the
trailing ``window_s``; the alert is pending while the condition holds and fires once it has held
for ``for_s``; it resolves at the first evaluation where the condition is false. A window with no
data (no request ended) never satisfies a condition.

Status-page entries, in clock time (``run.start_at``; else simulated time from the start of the run):
- Investigating: the first alert firing at or after the first trigger (time to detect);
- Identified: the first scheduled mitigation after detection, else the end of the last trigger;
- Monitoring: the first moment after Identified with no alert firing;
- Resolved: when the system is back in steady state for good (see ``metastability``), not before Monitoring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.analysis.clock import Anchor, clock_text, sim_clock
from sim.analysis.observability import monitor_served, probe_episodes, probe_rule_dict
from sim.analysis.windows import Series, episodes_of, triggers
from sim.spec.monitoring import INVISIBLE_REASONS, AlertSpec

QUANTILES = {"latency_p50_s": ("latency", 0.5), "latency_p99_s": ("latency", 0.99), "ttft_p99_s": ("ttft", 0.99)}
METRIC_WORDS = {
    "success_ratio": "success ratio", "error_ratio": "error ratio", "latency_p50_s": "p50 latency",
    "latency_p99_s": "p99 latency", "ttft_p99_s": "p99 TTFT", "goodput_rps": "goodput", "arrival_rps": "arrival rate",
    "attempt_rps": "attempt rate", "in_flight": "requests in flight",
}


clock = sim_clock
"""Simulated clock from the start of the run: HH:MM:SS (a run without ``run.start_at``)."""


def alert_rules(scenario: Any) -> tuple[list[AlertSpec], bool]:
    """The scenario's alert rules, or rules derived from its SLO (and whether they were derived)."""
    mon = scenario.monitoring
    if mon.alerts or not mon.derive_from_slo:
        return list(mon.alerts), False
    slo = scenario.slo
    w = slo.window_s
    rules = [AlertSpec(name="slo-availability", metric="success_ratio", op="below", threshold=slo.availability,
                       window_s=w, for_s=w)]
    if slo.p99_latency_s is not None:
        rules.append(AlertSpec(name="slo-latency", metric="latency_p99_s", op="above", threshold=slo.p99_latency_s,
                               window_s=w, for_s=w))
    if slo.p99_ttft_s is not None:
        rules.append(AlertSpec(name="slo-ttft", metric="ttft_p99_s", op="above", threshold=slo.p99_ttft_s,
                               window_s=w, for_s=w))
    for reason, limit in sorted(slo.max_error_rate.items()):
        if reason in INVISIBLE_REASONS:  # no HTTP monitor sees it: that is the quality probe's job
            continue
        rules.append(AlertSpec(name=f"slo-{reason}", metric="error_ratio", reason=reason, op="above",
                               threshold=limit, window_s=w, for_s=w))
    return rules, True


def _condition(series: Series, rule: AlertSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket: whether the condition holds over the trailing window, and the metric's value (NaN: no data)."""
    w = series.window_buckets(rule.window_s)
    span_s = w * series.bucket_s
    ended = series.trailing(series.ended, w)
    safe = np.maximum(ended, 1)
    nodata = ended == 0
    metric = rule.metric
    served_ok = monitor_served(series)  # what the monitor counts as successes (HTTP 200s)
    if metric in QUANTILES:
        which, q = QUANTILES[metric]
        served = series.served_counts(which)
        if served is None:
            nan = np.full(series.n, np.nan)
            return np.zeros(series.n, dtype=bool), nan
        served_w = series.trailing(served, w)
        slow_w = series.trailing(series.slow_counts(which, rule.threshold), w)
        above = (served_w > 0) & (slow_w > served_w - np.ceil(q * served_w))
        below = (served_w > 0) & ~above
        value = np.full(series.n, np.nan)
        return (above if rule.op == "above" else below), value
    if metric == "success_ratio":
        value = series.trailing(served_ok, w) / safe
    elif metric == "error_ratio":
        bad = series.outcome.get(rule.reason) if rule.reason else series.ended - served_ok
        value = series.trailing(bad if bad is not None else np.zeros(series.n), w) / safe
    elif metric == "goodput_rps":
        value, nodata = series.trailing(served_ok, w) / span_s, np.zeros(series.n, dtype=bool)
    elif metric == "arrival_rps":
        value, nodata = series.trailing(series.arrivals, w) / span_s, np.zeros(series.n, dtype=bool)
    elif metric == "attempt_rps":
        value, nodata = series.trailing(series.attempts, w) / span_s, np.zeros(series.n, dtype=bool)
    else:
        value, nodata = series.in_flight.astype(float), np.zeros(series.n, dtype=bool)
    value = np.where(nodata, np.nan, value.astype(float))
    cond = value > rule.threshold if rule.op == "above" else value < rule.threshold
    return cond & ~nodata, value


def evaluate_alert(series: Series, rule: AlertSpec) -> list[dict[str, Any]]:
    """Firing episodes of one rule: when it fired, when it resolved (None: still firing at the end)."""
    cond, value = _condition(series, rule)

    def value_at(i: int) -> float:
        if rule.metric in QUANTILES:
            which, q = QUANTILES[rule.metric]
            lo = max(0, i - series.window_buckets(rule.window_s) + 1)
            qv = series.window_quantile(which, q, lo, i)
            return np.nan if qv is None else qv
        return value[i]

    return episodes_of(series, rule.name, cond, rule.for_s, value_at)


def _describe(rule: AlertSpec, value: float | None) -> str:
    what = METRIC_WORDS[rule.metric] + (f" ({rule.reason})" if rule.reason else "")
    ratio = rule.metric in ("success_ratio", "error_ratio")

    def fmt(v: float) -> str:
        return f"{100 * v:.2f} %" if ratio else f"{v:.3g}" + (" s" if rule.metric.endswith("_s") else "")

    shown = fmt(value) if value is not None else "n/a"
    return (f"alert {rule.name}: {what} {shown}, {rule.op} {fmt(rule.threshold)} over {rule.window_s:g} s "
            f"for {rule.for_s:g} s")


def incident(data: Any, steady: dict[str, Any], meta: dict[str, Any], series: Series | None = None) -> dict[str, Any]:
    """Alerts, mitigations, detection / mitigation / recovery times and the status-page timeline."""
    series = series or Series(data)
    anchor = Anchor.from_run(data.scenario.run)
    rules, derived = alert_rules(data.scenario)
    trig = triggers(data)
    start = min((t.start_s for t in trig), default=None)
    episodes = [e for r in rules for e in evaluate_alert(series, r)]
    by_name = {r.name: r for r in rules}
    for e in episodes:
        e["text"] = _describe(by_name[e["alert"]], e["value"])
    probe = data.scenario.monitoring.quality_probe
    if probe is not None:
        episodes += probe_episodes(series, probe, data.seed)
    episodes.sort(key=lambda e: (e["fired_s"], e["alert"]))
    mitigations = sorted(({"name": m.name, "at_s": m.at_s, "action": m.action, "fault": m.fault}
                          for m in data.scenario.monitoring.mitigations), key=lambda m: m["at_s"])
    events = [{"t_s": t.start_s, "event": "trigger starts", "text": f"{t.kind} {t.label} starts"} for t in trig]
    events += [{"t_s": t.end_s, "event": "trigger ends", "text": f"{t.kind} {t.label} ends"} for t in trig
               if t.end_s is not None and t.end_s > t.start_s]
    for e in episodes:
        events.append({"t_s": e["fired_s"], "event": "alert fires", "text": e["text"]})
        if e["resolved_s"] is not None:
            events.append({"t_s": e["resolved_s"], "event": "alert resolves", "text": f"alert {e['alert']} resolved"})
    events += [{"t_s": m["at_s"], "event": "mitigation", "text": f"{m['name']}: {m['action']}".rstrip(": ")}
               for m in mitigations]
    events.sort(key=lambda e: e["t_s"])
    for e in events:
        e["clock"] = clock_text(e["t_s"], anchor)
    out: dict[str, Any] = {
        "rules": [r.model_dump(mode="json") for r in rules], "rules_derived_from_slo": derived,
        "quality_probe": None if probe is None else probe_rule_dict(probe),
        "alerts": episodes, "mitigations": mitigations,
        "mitigations_act": False, "events": events, "incident_start_s": start,
        "time_to_detect_s": None, "time_to_mitigate_s": None, "time_to_recover_s": None, "status": [],
        "false_alarms": [e for e in episodes if start is None or e["fired_s"] < start],
    }
    if start is None:
        out["summary"] = ("no trigger in this run" + (f"; {len(episodes)} alert(s) fired on baseline noise"
                                                       if episodes else "; no alert fired"))
        return out
    detected = [e for e in episodes if e["fired_s"] >= start]
    if not detected:
        out["summary"] = ("the steady state deviated but no alert fired: the incident went undetected"
                          if steady["verdict"] == "deviated" else "no alert fired and the steady state held: "
                          "no incident")
        return out
    first = detected[0]
    t_detect = first["fired_s"]
    out["time_to_detect_s"] = t_detect - start
    status = [{"status": "Investigating", "t_s": t_detect,
               "text": f"We are investigating degraded service: {first['text']}."}]
    mit_after = [m for m in mitigations if m["at_s"] >= t_detect]
    if mitigations:
        out["time_to_mitigate_s"] = mitigations[0]["at_s"] - start if mitigations[0]["at_s"] >= start else None
    if mit_after:
        m = mit_after[0]
        t_ident = m["at_s"]
        status.append({"status": "Identified", "t_s": t_ident,
                       "text": f"The issue has been identified and a fix is being applied: {m['name']}"
                               + (f" ({m['action']})" if m["action"] else "") + "."})
    elif steady["last_trigger_end_s"] is not None:
        t_ident = max(t_detect, steady["last_trigger_end_s"])
        last = max((t for t in trig if t.end_s is not None), key=lambda t: t.end_s)
        status.append({"status": "Identified", "t_s": t_ident,
                       "text": f"The cause has been identified: {last.kind} {last.label}, which is now over."})
    else:
        t_ident = None
    t_mon = None
    if t_ident is not None and all(e["resolved_s"] is not None for e in detected):
        # monitoring once the last alert episode has resolved and the fix is in
        t_mon = max([t_ident] + [e["resolved_s"] for e in detected])
        status.append({"status": "Monitoring", "t_s": t_mon,
                       "text": "A fix has been implemented and alerts have cleared; we are monitoring the results."})
    if t_mon is not None and meta.get("recovered_at_s") is not None:
        t_res = max(t_mon, meta["recovered_at_s"])
        status.append({"status": "Resolved", "t_s": t_res,
                       "text": "This incident has been resolved: every SLO tolerance holds again."})
        out["time_to_recover_s"] = t_res - start
    for s in status:  # status pages give minutes (05:42 PT); the events table keeps seconds
        s["clock"] = clock_text(s["t_s"], anchor, seconds=anchor is None)
    out["status"] = status
    resolved = status[-1]["status"] == "Resolved"
    out["summary"] = (f"detected after {out['time_to_detect_s']:g} s"
                      + (f", mitigated after {out['time_to_mitigate_s']:g} s"
                         if out["time_to_mitigate_s"] is not None else "")
                      + (f", recovered after {out['time_to_recover_s']:g} s" if resolved
                         else ", not resolved by the end of the run"))
    return out
