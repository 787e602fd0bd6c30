"""One self-contained HTML report of a run: verdict first, then the story, then the evidence.

The timeline is interactive (Bokeh, its library inlined: zoom, hover, hide a series); the other
figures, and the timeline folded below it, are inlined as base64 PNG. No network access is needed;
the SVG versions are written next to the report for print. Everything that comes from the scenario
or the run is HTML-escaped.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from sim.analysis import analyze_full
from sim.analysis.rundir import scenario_yaml
from sim.report.figures import REASON_COLOURS, STATE_COLOURS, draw_cascade, draw_swimlanes, draw_timeline, save_figure
from sim.report.files import atomic_write_text, to_json
from sim.report.interactive import available, interactive_timeline, library

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:1250px;
padding:1.2em 2em;color:#212121;line-height:1.4}
h1{margin-bottom:.1em}h2{border-bottom:2px solid #eceff1;padding-bottom:.2em;margin-top:1.6em}
.sub{color:#616161;margin-top:0}
#verdict{border-radius:8px;padding:1em 1.3em;margin:1em 0;border-left:10px solid}
#verdict.held{background:#e8f5e9;border-color:#2e7d32}#verdict.deviated{background:#ffebee;border-color:#c62828}
#verdict .word{font-size:1.8em;font-weight:700;text-transform:uppercase;letter-spacing:.05em}
.kpis{display:flex;flex-wrap:wrap;gap:.6em;margin:.8em 0}
.kpi{background:#fafafa;border:1px solid #e0e0e0;border-radius:6px;padding:.4em .8em;min-width:9em}
.kpi b{display:block;font-size:1.25em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #e0e0e0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{list-style:none;padding:0;margin:.5em 0;border-left:3px solid #90a4ae}
.status li{margin:0 0 .7em 0;padding-left:1em}
.status .st{font-weight:700;display:inline-block;min-width:8em}
.st-Investigating{color:#c62828}.st-Identified{color:#ef6c00}.st-Monitoring{color:#1565c0}
.st-Resolved{color:#2e7d32}.clock{font-family:monospace;color:#616161;margin-right:.8em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eceff1}
figcaption{color:#616161;font-size:.9em}
pre{background:#263238;color:#eceff1;padding:1em;overflow:auto;border-radius:6px;font-size:.85em}
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:middle;margin-right:.3em}
.bad{color:#c62828;font-weight:600}.ok{color:#2e7d32;font-weight:600}
.facts{margin:.4em 0}.fact{margin:.15em 0}.fact b{display:inline-block;min-width:11em;color:#424242}
.cols{display:flex;flex-wrap:wrap;gap:2em}.cols>div{flex:1 1 28em}
details>summary{cursor:pointer;color:#1565c0}
"""


def _pct(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f} %"


def _num(v: Any, fmt: str = "{:g}", unit: str = "") -> str:
    return "–" if v is None else fmt.format(v) + unit


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """An HTML table; cells must already be escaped."""
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str, fig_id: str, caption: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<figure id="{fig_id}"><img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _verdict(a: dict[str, Any]) -> str:
    v = a["verdict"]
    c = a["cascade"]["blast_radius"]
    b = a["budget"]
    meta = a["metastability"]
    inc = a["incident"]
    kpis = [
        ("availability (measured)", _pct(a["measured"]["availability"], 3)),
        ("goodput", _num(a["measured"]["goodput_rps"], "{:.2f}", " req/s")),
        ("requests affected", _pct(c["requests_share"])),
        ("users affected", _pct(c["users_share"])),
        ("cascade", f"{c['components']} components, depth {a['cascade']['depth']}"),
        ("recovery", meta["verdict"]),
        ("time to detect", _num(inc["time_to_detect_s"], "{:g}", " s")),
        ("error budget (30 d)" if b["period_days"] == 30 else "error budget", _pct(b["time_budget_consumed"])),
    ]
    cards = "".join(f'<div class="kpi">{escape(k)}<b>{escape(val)}</b></div>' for k, val in kpis)
    gap = a.get("observability") or {}
    rows = [("when", _when(a)), ("why (root cause)", _root_cause(a)), ("cascade", a["cascade"]["summary"]),
            ("did it recover", f"{meta['verdict']}: {meta['text']}"), ("incident", inc["summary"])]
    if gap.get("summary"):
        rows.append(("what monitoring saw", gap["summary"]))
    facts = "".join(f'<div class="fact" id="fact-{escape(k.split(" ")[0])}"><b>{escape(k)}</b> {escape(t)}</div>'
                    for k, t in rows)
    return (f'<section id="verdict" class="{escape(v)}"><div class="word">steady state {escape(v)}</div>'
            f'<p id="headline">{escape(a["headline"])}</p><div class="facts">{facts}</div>'
            f'<div class="kpis">{cards}</div></section>')


def _at(a: dict[str, Any], t_s: float | None) -> str:
    """A time for the first screen: the clock time when anchored, else seconds into the run."""
    if t_s is None:
        return "–"
    return _clock_label(a, t_s) if a["run"].get("clock") else f"{t_s:g} s"


def _when(a: dict[str, Any]) -> str:
    inc = a["incident"]
    start = inc.get("incident_start_s")
    if start is None:
        return "no trigger in this run"
    parts = [f"first trigger at {_at(a, start)}"]
    if inc["time_to_detect_s"] is not None:
        parts.append(f"detected at {_at(a, start + inc['time_to_detect_s'])} (+{inc['time_to_detect_s']:g} s)")
    else:
        parts.append("never detected by an alert")
    if inc["time_to_recover_s"] is not None:
        parts.append(f"resolved at {_at(a, start + inc['time_to_recover_s'])} (+{inc['time_to_recover_s']:g} s)")
    elif a["metastability"].get("recovered_at_s") is not None:
        parts.append(f"back in steady state at {_at(a, a['metastability']['recovered_at_s'])}")
    else:
        parts.append("not back in steady state by the end of the run")
    return "; ".join(parts)


def _root_cause(a: dict[str, Any]) -> str:
    roots = a["cascade"]["roots"]
    if roots:
        return "; ".join(f"{r['fault']} ({r['kind']}) on {', '.join(r['targets']) or '–'} at {_at(a, r['t_s'])}"
                         for r in roots[:4]) + (f"; and {len(roots) - 4} more" if len(roots) > 4 else "")
    trig = a["triggers"]
    if trig:
        return "; ".join(f"{t['kind']} {t['label']} at {_at(a, t['start_s'])}" for t in trig[:4])
    return "none: a control run"


def _incident(a: dict[str, Any]) -> str:
    inc = a["incident"]
    parts = ['<section id="incident-timeline"><h2>Incident timeline</h2>']
    rules = ", ".join(f"{r['name']} ({r['metric']} {r['op']} {r['threshold']:g} over {r['window_s']:g} s "
                      f"for {r['for_s']:g} s)" for r in inc["rules"])
    derived = " (derived from the SLO)" if inc["rules_derived_from_slo"] else ""
    parts.append(f"<p>{escape(inc['summary'])}. Alert rules{escape(derived)}: {escape(rules) or 'none'}.</p>")
    if inc["status"]:
        items = "".join(f'<li><span class="clock">{escape(s["clock"])}</span><span class="st st-{escape(s["status"])}">'
                        f'{escape(s["status"])}</span> {escape(s["text"])}</li>' for s in inc["status"])
        parts.append(f'<ul class="status" id="status-page">{items}</ul>')
    else:
        parts.append('<p id="status-page">No incident was declared (no alert fired after a trigger).</p>')
    times = [["time to detect", _num(inc["time_to_detect_s"], "{:g}", " s")],
             ["time to mitigate", _num(inc["time_to_mitigate_s"], "{:g}", " s")],
             ["time to recover", _num(inc["time_to_recover_s"], "{:g}", " s")]]
    parts.append(_table(["measured from the first trigger", ""], [[escape(x) for x in r] for r in times], {1}))
    if inc["false_alarms"]:
        parts.append(f"<p>{len(inc['false_alarms'])} alert episode(s) fired before any trigger (false alarms on "
                     "baseline noise).</p>")
    if inc["mitigations"]:
        parts.append("<p>Mitigations are marks on the timeline: they record what operators did and when; the "
                     "simulation is changed only by the scenario's faults and mechanisms.</p>")
    if inc["events"]:
        rows = [[escape(e["clock"]), _num(e["t_s"], "{:g}", " s"), escape(e["event"]), escape(e["text"])]
                for e in inc["events"]]
        parts.append("<h3>Events</h3>" + _table(["clock", "t", "event", "detail"], rows, {1}))
    parts.append("</section>")
    return "".join(parts)


def _observability(a: dict[str, Any]) -> str:
    """What happened (the truth) beside what the monitors saw and when: the observability gap."""
    gap = a.get("observability")
    if not gap:
        return ""
    truth, mon = gap["truth"], gap["monitors"]
    clk = a["run"].get("clock")

    def when(t_s: float | None) -> str:
        if t_s is None:
            return "never"
        return f"{t_s:g} s" + (f" ({escape(_clock_label(a, t_s))})" if clk else "")

    users = truth["users_served_wrong_answers"]
    truth_rows = [
        ["steady state", escape(truth["verdict"]) + (f", first deviated at {when(truth['first_violation_s'])}"
                                                     if truth["first_violation_s"] is not None else "")],
        ["silently wrong answers served",
         escape(f"{truth['wrong_answers']} ({_pct(truth['wrong_answer_share_of_served'])} of served)")],
        ["users served a wrong answer", escape("–" if users is None else f"{users} of {truth['users_active']}")],
        ["wrong answers from / until", f"{when(truth['first_wrong_answer_s'])} / {when(truth['last_wrong_answer_s'])}"],
    ]
    probe = a["incident"].get("quality_probe")
    probe_text = (escape(f"samples {100 * probe['sample_share']:g} % of answers, verdicts "
                         f"{probe['detection_delay_s']:g} s later; alerted at ") + when(mon["probe_first_alert_s"])
                  if probe else "none: HTTP monitors count a wrong answer as a success, so wrong answers are invisible")
    mon_rows = [
        ["first alert", (f"{escape(mon['first_alert'])} at {when(mon['first_alert_s'])}" if mon["first_alert"]
                         else "none fired")],
        ["quality probe", probe_text],
        ["gap (first alert − first deviation)", escape(_num(gap["detection_gap_s"], "{:+g}", " s")
                                                        if gap["detection_gap_s"] is not None
                                                        else ("undetected" if gap["undetected"] else "–"))],
    ]
    cls = "bad" if gap["undetected"] or gap["wrong_answers_unseen"] else "ok"
    return ('<section id="observability"><h2>What monitoring saw, beside what happened</h2>'
            f'<p class="{cls}">{escape(gap["summary"])}.</p><div class="cols">'
            '<div><h3>What happened (the truth)</h3>' + _table(["", ""], truth_rows) + "</div>"
            '<div><h3>What the monitors saw</h3>' + _table(["", ""], mon_rows) + "</div></div></section>")


def _clock_label(a: dict[str, Any], t_s: float) -> str:
    from sim.analysis.clock import Anchor

    return Anchor.from_dict(a["run"]["clock"]).label(t_s)


def _steady(a: dict[str, Any]) -> str:
    ss = a["steady_state"]
    rows = []
    for name, ph in ss["phases"].items():
        span = f"{ph['from_s']:g}–{ph['to_s']:g} s" if ph["from_s"] is not None else "–"
        cls = {"held": "ok", "deviated": "bad"}.get(ph["status"], "")
        if not ph["checks"]:
            rows.append([escape(name), escape(span), f'<span class="{cls}">{escape(ph["status"])}</span>', "–", "–",
                         "–"])
        for c in ph["checks"]:
            bad = c["violated_windows"]
            rows.append([escape(name), escape(span), f'<span class="{"bad" if bad else "ok"}">'
                         f'{"failed" if bad else "held"}</span>', escape(c["description"]),
                         f"{bad} / {c['judged_windows']}",
                         escape(f"{c['first_violation_s']:g} s ({c['value_at_first_violation']})")
                         if bad else "–"])
    return ('<section id="steady-state"><h2>Steady-state hypothesis</h2>'
            f"<p>Tolerances: {escape('; '.join(ss['tolerances']))}; checked on rolling {ss['window_s']:g} s windows "
            f"(windows with fewer than {ss['min_requests']} ended requests are not judged).</p>"
            + _table(["phase", "span", "result", "tolerance", "windows failed / judged", "first failure"], rows)
            + "</section>")


def _metastability(a: dict[str, Any]) -> str:
    m = a["metastability"]
    parts = [f'<section id="metastability"><h2>Recovery (metastability)</h2><p><b>{escape(m["verdict"])}</b>: '
             f'{escape(m["text"])}</p>']
    ev = m.get("evidence") or {}
    cols = [("before", "before the first trigger"), ("end_of_trigger", "just before the last trigger ended"),
            ("end_of_run", "end of the run")]
    cols = [(k, title) for k, title in cols if ev.get(k)]
    if cols:
        metrics = [("span", lambda e: f"{e['from_s']:g}–{e['to_s']:g} s"),
                   ("arrivals", lambda e: f"{e['arrival_rps']:.2f} req/s"),
                   ("goodput", lambda e: f"{e['goodput_rps']:.2f} req/s"),
                   ("success ratio", lambda e: _pct(e["success_ratio"])),
                   ("attempts per arrival", lambda e: _num(e["attempts_per_arrival"], "{:.2f}")),
                   ("backlog in flight at the end", lambda e: str(e["in_flight_end"]))]
        rows = [[escape(name)] + [escape(f(ev[k])) for k, _ in cols] for name, f in metrics]
        parts.append(_table(["time series"] + [t for _, t in cols], rows, set(range(1, len(cols) + 1))))
    parts.append("</section>")
    return "".join(parts)


def _cascade(a: dict[str, Any]) -> str:
    c = a["cascade"]
    br = c["blast_radius"]
    parts = ['<section id="cascade"><h2>Cascade</h2>', f"<p>{escape(c['summary'])}.</p>"]
    facts = [
        ["roots", escape(", ".join(f"{r['fault']} ({r['kind']}, {r['t_s']:g} s → {', '.join(r['targets'])})"
                                   for r in c["roots"]) or "none")],
        ["depth (generations)", escape(str(c["depth"]))],
        ["components affected", escape(f"{br['components']} ({_pct(br.get('share_of_components'))} of the stack): "
                                       + ", ".join(c["components"]))],
        ["serving capacity affected", escape(f"{_pct(br['capacity_share'])} (peak at once "
                                             f"{_pct(br['peak_capacity_share'])})")],
        ["requests affected", escape(f"{br['requests_affected']} ({_pct(br['requests_share'])} of measured)")],
        ["users affected", escape(f"{br['users_affected']} of {br['users_active']} ({_pct(br['users_share'])})")],
        ["from the first fault on", escape(f"{_pct(br.get('requests_share_since_first_fault'))} of requests, "
                                           f"{_pct(br.get('users_share_since_first_fault'))} of users")],
        ["widest spread", escape(_num(c["time_to_widest_s"], "+{:g}", " s after the first fault"))],
        ["over at", escape(_num(c["end_s"], "{:g}", " s") if not c.get("still_impaired")
                           else "still impaired at the end: " + ", ".join(c["still_impaired"]))],
    ]
    if c["containment"]:
        cont = c["containment"]
        facts.append(["containment", escape("; ".join(
            f"{lvl}: {'contained' if cont[lvl] else 'left (' + ', '.join(cont['left_' + lvl]) + ')'}"
            for lvl in ("pool", "zone", "tier")))])
    parts.append(_table(["", ""], facts))
    if c["table"]:
        rows = [[_num(r["t_s"], "{:.2f}"), _num(r["after_first_fault_s"], "+{:.2f}"), escape(str(r["generation"])),
                 escape(r["component"]),
                 f'<span class="sw" style="background:{STATE_COLOURS.get(r["previous"] or "", "#fff")}"></span>'
                 f'{escape(r["previous"] or "–")} → <span class="sw" style="background:'
                 f'{STATE_COLOURS.get(r["state"], "#fff")}"></span>{escape(r["state"])}',
                 escape(r["cause"]), escape(", ".join(r["pushed_by"]))] for r in c["table"]]
        parts.append(_table(["t (s)", "after first fault (s)", "gen", "component", "state", "cause", "pushed by"],
                            rows, {0, 1, 2}))
    parts.append("</section>")
    return "".join(parts)


def _failures(a: dict[str, Any]) -> str:
    failures = a["measured"]["failures"]
    ended = a["measured"]["ended"] or 0
    rows = [[f'<span class="sw" style="background:{REASON_COLOURS.get(k, "#bdbdbd")}"></span>{escape(k)}',
             str(v), _pct(v / ended if ended else None)] for k, v in sorted(failures.items(), key=lambda kv: -kv[1])]
    body = _table(["reason", "requests", "share of ended"], rows, {1, 2}) if rows else "<p>No failures.</p>"
    return f'<section id="failures"><h2>Failures by reason (measured window)</h2>{body}</section>'


def _budget(a: dict[str, Any]) -> str:
    b = a["budget"]
    rows = [
        ["availability target", escape(f"{b['availability_target']:g}")],
        ["bad minutes (any tolerance failed over the minute)", escape(f"{b['bad_minutes']:.2f} of "
                                                                      f"{b['judged_minutes']:.1f} judged")],
        [escape(f"allowance per {b['period_days']:g} days"), escape(f"{b['allowed_bad_minutes']:.1f} min")],
        ["time budget consumed by this run", escape(_pct(b["time_budget_consumed"]))],
        ["failed requests", escape(f"{b['failed_requests']} of {b['ended_requests']} ({_pct(b['failed_share'])})")],
        ["burn rate (failed share / allowed share)", escape(_num(b["burn_rate"], "{:.2f}"))],
        ["request budget consumed", escape(_pct(b["request_budget_consumed"], 3))],
    ]
    return f'<section id="budget"><h2>Error budget</h2>{_table(["", ""], rows)}</section>'


def scenario_summary(scenario: Any) -> list[list[str]]:
    """What was simulated, in a few rows (plain text; escaped when rendered)."""
    topo = scenario.topology
    rows = [["zones", ", ".join(topo.zones)]]
    rows.append(["load balancers", ", ".join(f"{lb.name} → {', '.join(lb.upstream)}" for lb in topo.load_balancers)])
    pools = [f"{p.name}: {p.replicas} × {p.server.mode} over {', '.join(p.zones or topo.zones[:1])}"
             + (f", calls {p.database}" if p.database else "") for p in topo.pools]
    rows.append(["pools", "; ".join(pools)])
    if topo.databases or topo.caches:
        rows.append(["data stores", ", ".join([d.name for d in topo.databases] + [c.name for c in topo.caches])])
    clients = []
    for c in scenario.workload.clients:
        arrival = c.arrival
        rate = f"{arrival.rate_rps:g} req/s" if hasattr(arrival, "rate_rps") else f"trace {arrival.path}"
        clients.append(f"{c.name}: {arrival.kind} {rate}, {c.users} users, timeout {c.timeout_s} s")
    rows.append(["workload", "; ".join(clients)])
    faults = []
    for f in scenario.faults:
        target = getattr(f, "target", None)
        where = (", ".join(f"{k}={v}" for k, v in target.model_dump(exclude_none=True).items()) if target is not None
                 else ", ".join(getattr(f, "zones", []) or []))
        length = f"for {f.duration_s:g} s" if f.duration_s is not None else "no end"
        faults.append(f"{f.id} ({f.kind}) at {f.at_s:g} s {length} on {where or '-'}")
    rows.append(["faults", "; ".join(faults) or "none (control run)"])
    return rows


def _figures(figures: dict[str, bytes], captions: dict[str, tuple[str, str]],
             interactive: tuple[str, str] | None) -> str:
    """The figures section: the interactive timeline first (the static one folded below it), then the rest."""
    parts = []
    for name, png in figures.items():
        if name == "timeline" and interactive is not None:
            script, div = interactive
            parts.append(f'<figure id="fig-timeline-interactive">{div}<figcaption>{escape(INTERACTIVE_CAPTION)}'
                         f"</figcaption></figure>{script}")
            parts.append("<details id=\"timeline-static\"><summary>The same timeline as a static figure "
                         "(figures/timeline.png and .svg, for papers)</summary>" + _img(png, name, *captions[name])
                         + "</details>")
        else:
            parts.append(_img(png, name, *captions[name]))
    if interactive is None and "timeline" in figures:
        parts.insert(0, '<p class="sub" id="no-interactive">Interactive figures need Bokeh (pip install bokeh); '
                        "static figures are shown instead.</p>")
    return "".join(parts)


INTERACTIVE_CAPTION = ("Interactive timeline: scroll or drag a box to zoom (every panel follows), hover for values, "
                       "click a legend entry to hide its series, reset with the ⟲ tool. Red: triggers, hatched "
                       "orange: alerts firing, dashed blue: mitigations.")


def render_report(a: dict[str, Any], figures: dict[str, bytes], yaml_text: str,
                  summary_rows: list[list[str]] | None = None,
                  interactive: tuple[str, str] | None = None, library_js: str = "") -> str:
    """The report page from an analysis, PNG figures, the scenario YAML and, optionally, the interactive
    timeline (its script and div) with the inlined plotting library."""
    run = a["run"]
    title = f"chaossim report — {run['scenario']} (seed {run['seed']})"
    trig = ", ".join(f"{t['kind']} {t['label']} at {t['start_s']:g} s" for t in a["triggers"]) or "none"
    starts = f"starts {run['clock']['start']} · " if run.get("clock") else ""
    captions = {
        "timeline": ("fig-timeline", "Timeline: request rate, goodput, success ratio, p50/p99 latency and TTFT, "
                                     "failures by reason; red: triggers (a line for an instant fault), "
                                     "orange: alerts firing, blue: mitigations."),
        "swimlanes": ("fig-swimlanes", "Component states over time; ▼ marks a cascade transition and its generation."),
        "cascade": ("fig-cascade", "The cascade over the topology: fault roots in red, arrows numbered in the order "
                                   "of spread with the time after the first fault; nodes coloured by the worst state "
                                   "reached."),
    }
    figs = _figures(figures, captions, interactive)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{CSS}</style>{library_js}</head><body>\n"
        f"<h1>{escape(run['scenario'])}</h1><p class=\"sub\">{escape(run['description'] or '')}<br>"
        f"{escape(starts)}seed {escape(str(run['seed']))} · {run['duration_s']:g} s simulated "
        f"(warm-up {run['warmup_s']:g} s, "
        f"buckets of {run['bucket_s']:g} s) · triggers: {escape(trig)}</p>\n"
        + _verdict(a) + "\n"
        + _incident(a) + "\n" + _observability(a) + "\n"
        + ('<section id="summary"><h2>What was simulated</h2>'
           + _table(["", ""], [[escape(k), escape(v)] for k, v in summary_rows]) + "</section>\n"
           if summary_rows else "")
        + f'<section id="figures"><h2>Figures</h2>{figs}</section>\n'
        + _steady(a) + "\n" + _metastability(a) + "\n" + _cascade(a) + "\n" + _failures(a) + "\n" + _budget(a) + "\n"
        + f'<section id="scenario"><h2>Scenario</h2><details><summary>The scenario as it was run '
        f'({len(yaml_text.splitlines())} lines of YAML)</summary><pre>{escape(yaml_text)}</pre></details></section>\n'
        + "<p class=\"sub\">How to read this report: docs/analysis.md in the chaossim repository.</p>"
        + "</body></html>\n"
    )


def build_report(result_or_dir: Any, out_dir: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Analyse a run, draw its figures (PNG and SVG under figures/), write report.html; returns its path."""
    a, data = analyze_full(result_or_dir)
    if out_dir is None:
        if not isinstance(result_or_dir, str | Path):
            raise ValueError("out_dir is required when reporting a RunResult")
        out_dir = result_or_dir
    out = Path(out_dir)
    drawn = {"timeline": draw_timeline(data, a), "swimlanes": draw_swimlanes(data, a), "cascade": draw_cascade(data, a)}
    pngs = {}
    for name, fig in drawn.items():
        save_figure(fig, out / "figures" / name)
        pngs[name] = (out / "figures" / f"{name}.png").read_bytes()
    interactive, library_js = None, ""
    if available():
        interactive = interactive_timeline([(a["run"]["scenario"], data, a)])
        library_js = library()
    html = render_report(a, pngs, scenario_yaml(data), scenario_summary(data.scenario), interactive, library_js)
    atomic_write_text(out / "report.html", html)
    return out / "report.html", a


def write_analysis(a: dict[str, Any], out_dir: str | Path) -> Path:
    """analysis.json, atomically."""
    path = Path(out_dir) / "analysis.json"
    atomic_write_text(path, to_json(a))
    return path

