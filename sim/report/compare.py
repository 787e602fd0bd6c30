"""Two (or more) runs side by side: a control and a variant on the same seed.

``compare_runs`` puts the key figures of each run in one table with the difference from the first
run (the control); ``write_comparison_report`` writes a self-contained page with both verdicts,
that table and the time series overlaid (the control solid, the variant dashed), the plotting
library inlined, and the same overlay as a static figure for papers (PNG and SVG under figures/ beside
the page, named after it; the PNG inlined too). The experiment layer's ``compare`` can call either.
On the same seed both runs see the same arrivals (common random numbers), so a difference is the
design's, not noise; the page warns when the seeds differ.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from sim.analysis import analyze_full
from sim.report.compare_figure import draw_comparison
from sim.report.figures import has_ttft, save_figure
from sim.report.files import atomic_write_text
from sim.report.html import CSS
from sim.report.interactive import available, interactive_timeline, library

# (key, label, getter, unit, higher_is_better); None: no better / worse
KEY_FIGURES: list[tuple[str, str, Any, str, bool | None]] = [
    ("availability", "availability (measured)", lambda a: a["measured"]["availability"], "ratio", True),
    ("goodput_rps", "goodput", lambda a: a["measured"]["goodput_rps"], "req/s", True),
    ("latency_p99_s", "p99 latency", lambda a: (a["measured"]["latency_s"] or {}).get("p99"), "s", False),
    ("ttft_p99_s", "p99 TTFT", lambda a: (a["measured"]["ttft_s"] or {}).get("p99"), "s", False),
    ("requests_affected", "requests affected", lambda a: a["cascade"]["blast_radius"]["requests_share"], "ratio",
     False),
    ("users_affected", "users affected", lambda a: a["cascade"]["blast_radius"]["users_share"], "ratio", False),
    ("cascade_components", "cascade: components", lambda a: a["cascade"]["blast_radius"]["components"], "", False),
    ("cascade_depth", "cascade: depth", lambda a: a["cascade"]["depth"], "", False),
    ("time_to_detect_s", "time to detect", lambda a: a["incident"]["time_to_detect_s"], "s", False),
    ("time_to_recover_s", "time to recover", lambda a: a["incident"]["time_to_recover_s"], "s", False),
    ("budget_consumed", "error budget consumed", lambda a: a["budget"]["time_budget_consumed"], "ratio", False),
    ("wrong_answers", "silently wrong answers",
     lambda a: (a.get("observability") or {}).get("truth", {}).get("wrong_answers"), "", False),
]


def _label(source: Any, analysis: dict[str, Any], i: int) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return f"{analysis['run']['scenario']} #{i + 1}"


def compare_runs(analyses: list[dict[str, Any]], labels: list[str], skip: frozenset[str] = frozenset()
                 ) -> dict[str, Any]:
    """Verdicts and key figures of each run (less the ``skip`` keys), with each figure's difference from the
    first run and whether it is better (JSON-ready)."""
    rows = []
    for key, label, get, unit, higher_better in KEY_FIGURES:
        if key in skip:
            continue
        values = [get(a) for a in analyses]
        base = values[0]
        diffs = [None if v is None or base is None else v - base for v in values]
        better = [None if d is None or higher_better is None or d == 0 else (d > 0) == higher_better for d in diffs]
        rows.append({"key": key, "label": label, "unit": unit, "values": values, "differences": diffs,
                     "better": better})
    runs = [{"label": lab, "scenario": a["run"]["scenario"], "seed": a["run"]["seed"], "verdict": a["verdict"],
             "headline": a["headline"], "recovery": a["metastability"]["verdict"]}
            for lab, a in zip(labels, analyses, strict=True)]
    seeds = {r["seed"] for r in runs}
    return {"runs": runs, "figures": rows, "same_seed": len(seeds) == 1,
            "verdicts_differ": len({r["verdict"] for r in runs}) > 1}


def _fmt(v: Any, unit: str, signed: bool = False) -> str:
    if v is None:
        return "–"
    sign = "+" if signed and v > 0 else ""
    if unit == "ratio":
        return f"{sign}{100 * v:.3g} %" + (" pts" if signed else "")
    if unit == "s":
        return f"{sign}{v:.4g} s"
    if unit:
        return f"{sign}{v:.4g} {unit}"
    return f"{sign}{v:g}" if isinstance(v, float) else f"{sign}{v}"


def render_comparison(cmp: dict[str, Any], interactive: tuple[str, str] | None, library_js: str,
                      static_png: bytes | None = None) -> str:
    """The comparison page; ``static_png``: the overlaid figure for papers (``sim.report.compare_figure``)."""
    runs = cmp["runs"]
    title = "chaossim comparison — " + " vs ".join(r["label"] for r in runs)
    cards = "".join(
        f'<section class="verdict-card {escape(r["verdict"])}" id="verdict-{i}"><div class="run">'
        f'{"control" if i == 0 else "variant"}: {escape(r["label"])} ({escape(r["scenario"])}, seed {r["seed"]})'
        f'</div><div class="word">steady state {escape(r["verdict"])}</div><p>{escape(r["headline"])}</p>'
        f"<p>recovery: {escape(r['recovery'])}</p></section>" for i, r in enumerate(runs))
    head = "".join(f"<th>{escape(r['label'])}</th>" for r in runs)
    head += "".join(f"<th>Δ {escape(r['label'])} − {escape(runs[0]['label'])}</th>" for r in runs[1:])
    body = []
    for row in cmp["figures"]:
        cells = "".join(f'<td class="num">{escape(_fmt(v, row["unit"]))}</td>' for v in row["values"])
        for d, b in zip(row["differences"][1:], row["better"][1:], strict=True):
            cls = "" if b is None else ("ok" if b else "bad")
            cells += f'<td class="num {cls}">{escape(_fmt(d, row["unit"], signed=True))}</td>'
        body.append(f'<tr id="row-{escape(row["key"])}"><td>{escape(row["label"])}</td>{cells}</tr>')
    table = f'<table id="key-figures"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    both, others = ("both runs", "the other run") if len(runs) == 2 else (f"all {len(runs)} runs", "the others")
    seed_note = (f"<p>Same seed: {both} saw the same arrivals, so the differences are the design's.</p>"
                 if cmp["same_seed"] else
                 '<p class="bad">Different seeds: the differences include random noise; compare on the same seed '
                 "(or replicate).</p>")
    if interactive is not None:
        script, div = interactive
        figs = (f'<figure id="fig-overlay">{div}<figcaption>The time series overlaid: {escape(runs[0]["label"])} '
                f"solid, {others} dashed; zoom, hover and hide series as in a run's report; triggers, alerts "
                f"and mitigations are those of {escape(runs[0]['label'])}.</figcaption></figure>{script}")
    else:
        figs = '<p id="no-interactive">Overlaid time series need Bokeh (pip install bokeh).</p>'
    if static_png is not None:
        names = " and ".join(f"{n}" for n in cmp.get("static_figures", []))
        img = (f'<figure id="fig-overlay-static"><img alt="the time series overlaid" '
               f'src="data:image/png;base64,{base64.b64encode(static_png).decode("ascii")}"><figcaption>Goodput and '
               "arrivals, success ratio and p99 latency of each run overlaid: the control solid, the variant "
               "dashed.</figcaption></figure>")
        figs += (f'<details id="overlay-static" open><summary>The same series as a static figure ({escape(names)}, '
                 f"for papers)</summary>{img}</details>" if interactive is not None else img)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}{COMPARE_CSS}</style>{library_js}</head><body>\n"
            f"<h1>{escape(title)}</h1>{seed_note}<div class=\"cards\">{cards}</div>\n"
            f'<section id="differences"><h2>Key figures</h2>{table}</section>\n'
            f'<section id="overlay"><h2>Time series</h2>{figs}</section>\n'
            "<p class=\"sub\">How to read this page: docs/analysis.md (two runs side by side).</p></body></html>\n")


COMPARE_CSS = """
.cards{display:flex;gap:1em;flex-wrap:wrap}.verdict-card{flex:1 1 30em;border-radius:8px;padding:.8em 1.1em;
border-left:10px solid}.verdict-card.held{background:#e8f5e9;border-color:#2e7d32}
.verdict-card.deviated{background:#ffebee;border-color:#c62828}.verdict-card .word{font-size:1.4em;font-weight:700;
text-transform:uppercase}.verdict-card .run{color:#424242}
"""


def write_comparison_report(run_dirs: list[Any], out: str | Path,
                            labels: list[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Analyse two or more runs (run directories or RunResults; the first is the control), write the
    comparison page to ``out`` (a file path) and return it with the comparison data."""
    if len(run_dirs) < 2:
        raise ValueError("a comparison needs at least two runs")
    full = [analyze_full(r) for r in run_dirs]
    analyses = [a for a, _ in full]
    labels = labels or [_label(src, a, i) for i, (src, a) in enumerate(zip(run_dirs, analyses, strict=True))]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
    no_ttft = not any(has_ttft(data) for _, data in full)  # plain-mode servers: TTFT is the latency again
    cmp = compare_runs(analyses, labels, frozenset({"ttft_p99_s"}) if no_ttft else frozenset())
    interactive, library_js = None, ""
    runs = [(lab, data, a) for lab, (a, data) in zip(labels, full, strict=True)]
    if available():
        interactive = interactive_timeline(runs)
        library_js = library()
    path = Path(out)
    stem = path.parent / "figures" / path.stem
    written = save_figure(draw_comparison(runs), stem)
    cmp["static_figures"] = [f"figures/{p.name}" for p in written]
    atomic_write_text(path, render_comparison(cmp, interactive, library_js, written[0].read_bytes()))
    return path, cmp
