"""Analysis of a run: steady-state verdict, cascade, metastability, incident timeline, error budget.

``analyze(result_or_run_dir)`` takes a ``RunResult`` or a run directory and returns one JSON-ready
dict; ``format_analysis`` turns it into the text ``chaossim analyze`` prints. The analytic
references used to validate the simulator live in ``queueing`` and ``stats``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

ANALYSIS_VERSION = 1


def load(result_or_dir: Any) -> Any:
    """A RunResult as is; a path is loaded as a run directory (into a RunResult)."""
    if isinstance(result_or_dir, str | Path):
        from sim.analysis.rundir import load_run

        return load_run(result_or_dir)
    return result_or_dir


def jsonable(value: Any) -> Any:
    """Plain JSON data: NaN / inf become None, numpy scalars become Python, floats keep 9 significant digits."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else float(f"{v:.9g}")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def analyze_full(result_or_dir: Any) -> tuple[dict[str, Any], Any]:
    """The analysis (JSON-ready) and the run data it came from; the cascade DiGraph is in ``cascade_graph``."""
    from sim.analysis.budget import error_budget
    from sim.analysis.cascade import analyze_cascade, graph_to_json
    from sim.analysis.clock import Anchor
    from sim.analysis.incident import incident
    from sim.analysis.metastability import metastability
    from sim.analysis.observability import observability_gap
    from sim.analysis.slo import steady_state
    from sim.analysis.windows import Series, triggers

    data = load(result_or_dir)
    series = Series(data)
    steady = steady_state(data, series)
    cascade = analyze_cascade(data)
    graph = cascade.pop("graph")
    cascade["graph"] = graph_to_json(graph)
    meta = metastability(data, series)
    inc = incident(data, steady, meta, series)
    anchor = Anchor.from_run(data.scenario.run)
    m = data.summary.get("measured", {})
    out = {
        "version": ANALYSIS_VERSION,
        "run": {"scenario": data.summary.get("scenario", data.scenario.name), "seed": data.seed,
                "description": data.scenario.description, "duration_s": data.scenario.run.duration_s,
                "warmup_s": data.scenario.run.warmup_s, "bucket_s": data.scenario.run.bucket_s,
                "clock": None if anchor is None else anchor.to_dict()},
        "verdict": steady["verdict"],
        "headline": steady["headline"],
        "triggers": [t.to_dict() for t in triggers(data)],
        "steady_state": steady,
        "cascade": cascade,
        "metastability": meta,
        "incident": inc,
        "observability": observability_gap(data, steady, inc, series),
        "budget": error_budget(data, series),
        "measured": {"availability": m.get("availability"), "goodput_rps": m.get("goodput_rps"),
                     "ended": m.get("ended"), "failures": m.get("failures", {}),
                     "latency_s": m.get("latency_s"), "ttft_s": m.get("ttft_s")},
    }
    return jsonable(out), data


def analyze(result_or_dir: Any) -> dict[str, Any]:
    """Analyse a RunResult or a run directory; the result is JSON-ready."""
    return analyze_full(result_or_dir)[0]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:g} s"


def format_analysis(a: dict[str, Any]) -> str:
    """The analysis as the text ``chaossim analyze`` prints."""
    run = a["run"]
    lines = [f"scenario {run['scenario']}  seed {run['seed']}", "",
             f"STEADY STATE  {a['verdict'].upper()}", f"  {a['headline']}"]
    for name, ph in a["steady_state"]["phases"].items():
        span = f"{ph['from_s']:g}-{ph['to_s']:g} s" if ph["from_s"] is not None else ""
        lines.append(f"  {name:<7} {ph['status']:<15} {span}")
        for c in ph["checks"]:
            if c["violated_windows"]:
                lines.append(f"          {c['description']}: {c['violated_windows']}/{c['judged_windows']} windows "
                             f"failed, first at {c['first_violation_s']:g} s ({c['value_at_first_violation']})")
    lines += ["", "TRIGGERS"] + [f"  {t['kind']:<12} {t['label']}  {t['start_s']:g} s -> "
                                 + (f"{t['end_s']:g} s" if t["end_s"] is not None else "end of run")
                                 for t in a["triggers"]] + ([] if a["triggers"] else ["  none"])
    c = a["cascade"]
    br = c["blast_radius"]
    lines += ["", "CASCADE", f"  {c['summary']}"]
    if not c["empty"]:
        lines.append(f"  depth {c['depth']} generations, {c['transitions']} transitions, "
                     f"{br['components']} components ({_pct(br['capacity_share'])} of serving capacity affected, "
                     f"at most {_pct(br['peak_capacity_share'])} impaired at once)")
        for b in c.get("slo_breaches", []):
            if b["component"] not in c.get("changed_state", []):
                lines.append(f"  affected without a state change: {b['component']}: {b['why']}")
        lines.append(f"  first fault {_s(c['first_fault_s'])}, widest spread {_s(c['widest_spread_s'])} "
                     f"(+{_s(c['time_to_widest_s'])}), over at {_s(c['end_s'])}")
        for row in c["table"]:
            lines.append(f"    {row['t_s']:>9.2f} s  gen {row['generation']}  {row['component']:<14} "
                         f"{row['previous'] or '-'} -> {row['state']:<10} {row['cause']}")
    lines.append(f"  requests affected {_pct(br['requests_share'])}, users affected {_pct(br['users_share'])}"
                 f" ({br['users_affected']} of {br['users_active']}); from the first fault on: requests "
                 f"{_pct(br.get('requests_share_since_first_fault'))}, "
                 f"users {_pct(br.get('users_share_since_first_fault'))}")
    ms = a["metastability"]
    lines += ["", f"METASTABILITY  {ms['verdict']}", f"  {ms['text']}"]
    for name, ev in (ms.get("evidence") or {}).items():
        if ev:
            lines.append(f"  {name:<15} {ev['from_s']:g}-{ev['to_s']:g} s: arrivals {ev['arrival_rps']:.2f}/s, "
                         f"goodput {ev['goodput_rps']:.2f}/s, success {_pct(ev['success_ratio'])}, "
                         f"{ev['attempts_per_arrival'] or 0:.2f} attempts/arrival, backlog {ev['in_flight_end']}")
    inc = a["incident"]
    lines += ["", "INCIDENT", f"  {inc['summary']}"]
    lines += [f"  {s['clock']}  {s['status']:<13} {s['text']}" for s in inc["status"]]
    if a.get("observability"):
        lines.append(f"  what monitoring saw: {a['observability']['summary']}")
    if inc["events"]:
        lines.append("  events:")
        lines += [f"    {e['clock']}  {e['event']:<15} {e['text']}" for e in inc["events"]]
    b = a["budget"]
    lines += ["", "ERROR BUDGET",
              f"  {b['bad_minutes']:.2f} bad minutes of {b['judged_minutes']:.1f} judged; allowance "
              f"{b['allowed_bad_minutes']:.1f} min per {b['period_days']:g} days -> "
              f"{_pct(b['time_budget_consumed'])} consumed",
              f"  {b['failed_requests']} of {b['ended_requests']} requests failed ({_pct(b['failed_share'])}); "
              f"burn rate {b['burn_rate'] if b['burn_rate'] is None else round(b['burn_rate'], 2)}; "
              f"{_pct(b['request_budget_consumed'])} of the {b['period_days']:g}-day request budget"]
    failures = a["measured"]["failures"]
    lines += ["", "FAILURES BY REASON  " + (", ".join(f"{k} {v}" for k, v in failures.items()) or "none")]
    return "\n".join(lines)
