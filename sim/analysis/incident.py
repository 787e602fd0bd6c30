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

from sim.analysis.clock import Anchor, clock_text, sim_clock
from sim.analysis.observability import probe_episodes, probe_rule_dict
from sim.analysis.windows import Series, triggers
from sim.engine.alerting import evaluate_rule
from sim.spec.monitoring import AlertSpec
from sim.spec.monitoring import alert_rules as derived_alert_rules

METRIC_WORDS = {
    "success_ratio": "success ratio", "error_ratio": "error ratio", "latency_p50_s": "p50 latency",
    "latency_p99_s": "p99 latency", "ttft_p99_s": "p99 TTFT", "goodput_rps": "goodput", "arrival_rps": "arrival rate",
    "attempt_rps": "attempt rate", "in_flight": "requests in flight",
}


clock = sim_clock
"""Simulated clock from the start of the run: HH:MM:SS (a run without ``run.start_at``)."""


def alert_rules(scenario: Any) -> tuple[list[AlertSpec], bool]:
    """The scenario's alert rules, or rules derived from its SLO (and whether they were derived)."""
    return derived_alert_rules(scenario.monitoring, scenario.slo)


def evaluate_alert(series: Series, rule: AlertSpec) -> list[dict[str, Any]]:
    """Firing episodes of one rule: when it fired, when it resolved (None: still firing at the end).

    The evaluation is ``sim.engine.alerting``'s, the one the operators are paged by during the run.
    """
    return evaluate_rule(rule, series.buckets(), series.bucket_s, series.warmup_s, series.duration_s)


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
    response = (getattr(data, "summary", None) or {}).get("response")
    log = response["log"] if response else []
    events += [{"t_s": e["t_s"], "event": e["event"], "text": e["text"]} for e in log
               if e["event"] not in ("alert fires", "alert resolves")]  # the rules' own episodes are listed above
    acted: dict[str, dict[str, Any]] = {}
    for e in log:  # what people did, marked beside the scheduled words (the report's figures draw both)
        if e["event"] in ("action starts", "action done") and e["action"] not in acted:
            acted[e["action"]] = {"name": e["action"], "at_s": e["t_s"], "action": e["text"], "fault": e.get("fault"),
                                  "source": "response"}
    mitigations = sorted(mitigations + list(acted.values()), key=lambda m: m["at_s"])
    events.sort(key=lambda e: e["t_s"])
    for e in events:
        e["clock"] = clock_text(e["t_s"], anchor)
    out: dict[str, Any] = {
        "rules": [r.model_dump(mode="json") for r in rules], "rules_derived_from_slo": derived,
        "quality_probe": None if probe is None else probe_rule_dict(probe),
        "alerts": episodes, "mitigations": mitigations,
        "mitigations_act": response is not None, "status_from": "response" if response is not None else "schedule",
        "events": events, "incident_start_s": start,
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
    if response is not None:
        status, out["time_to_mitigate_s"] = status_from_response(log, detected, first, start, meta)
        return _finish(out, status, anchor, start, bool(status) and status[-1]["status"] == "Resolved")
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
    return _finish(out, status, anchor, start, status[-1]["status"] == "Resolved")


def _finish(out: dict[str, Any], status: list[dict[str, Any]], anchor: Anchor | None, start: float,
            resolved: bool) -> dict[str, Any]:
    """Clock times on the status entries, the time to recover and the one-line summary."""
    if resolved:
        out["time_to_recover_s"] = status[-1]["t_s"] - start
    for s in status:  # status pages give minutes (05:42 PT); the events table keeps seconds
        s["clock"] = clock_text(s["t_s"], anchor, seconds=anchor is None)
    out["status"] = status
    out["summary"] = (f"detected after {out['time_to_detect_s']:g} s"
                      + (f", mitigated after {out['time_to_mitigate_s']:g} s"
                         if out["time_to_mitigate_s"] is not None else "")
                      + (f", recovered after {out['time_to_recover_s']:g} s" if resolved
                         else ", not resolved by the end of the run"))
    return out


def status_from_response(log: list[dict[str, Any]], detected: list[dict[str, Any]], first: dict[str, Any],
                         start: float, meta: dict[str, Any]) -> tuple[list[dict[str, Any]], float | None]:
    """The status page from what the responders did (``summary.response.log``), not from fault ends.

    - Investigating: the first page acknowledged (else, when no alert paged anyone, the first alert firing);
    - Identified: the first diagnosis (else the first action taken, a scheduled one);
    - Monitoring: once every action taken is done (its last batch, its ramp) and no alert is firing;
    - Resolved: back in steady state for good (``metastability``), not before Monitoring.
    Returns the entries and the time to mitigate (first action taken after the incident started).
    """
    def first_of(event: str) -> dict[str, Any] | None:
        return next((e for e in log if e["event"] == event and e["t_s"] >= start), None)

    ack = first_of("acknowledged")
    status: list[dict[str, Any]] = []
    if ack is not None:
        status.append({"status": "Investigating", "t_s": ack["t_s"],
                       "text": f"We are investigating degraded service: {first['text']}."})
    else:
        status.append({"status": "Investigating", "t_s": first["fired_s"],
                       "text": f"Degraded service ({first['text']}); no one has been paged."})
    taken = [e for e in log if e["event"] in ("action starts", "action done") and e["t_s"] >= start]
    t_mitigate = taken[0]["t_s"] - start if taken else None
    diag = first_of("diagnosed")
    ident = diag if diag is not None else (taken[0] if taken else None)
    if ident is None:
        return status, t_mitigate
    t_ident = max(ident["t_s"], status[0]["t_s"])
    chosen = next((e for e in taken if e["t_s"] >= ident["t_s"]), None)
    what = f": {chosen['text']}" if chosen is not None else ""
    status.append({"status": "Identified", "t_s": t_ident,
                   "text": f"The issue has been identified and a fix is being applied{what}."})
    started = {e["action"] for e in taken}
    done = {e["action"]: e["t_s"] for e in log if e["event"] == "action done"}
    if not taken or started - done.keys() or any(e["resolved_s"] is None for e in detected):
        return status, t_mitigate
    t_mon = max([t_ident, max(done.values())] + [e["resolved_s"] for e in detected])
    status.append({"status": "Monitoring", "t_s": t_mon,
                   "text": "A fix has been implemented and alerts have cleared; we are monitoring the results."})
    if meta.get("recovered_at_s") is not None:
        status.append({"status": "Resolved", "t_s": max(t_mon, meta["recovered_at_s"]),
                       "text": "This incident has been resolved: every SLO tolerance holds again."})
    return status, t_mitigate
