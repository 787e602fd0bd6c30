"""Interactive time series for report.html (Bokeh): zoom, hover for values, click a legend entry to hide it.

The plotting library is inlined (``bokeh.resources`` in inline mode, the core library only: about
1.3 MB), so the page needs no network and opens from a file. Every panel shares one time axis, so
zooming one zooms all. The static PNG / SVG figures are still written for papers.

Bokeh gives its models random ids; a report must be the same bytes for the same run, so
``embed`` renumbers every id in order of first appearance (``stable_ids``).

Without Bokeh installed, ``available()`` is False and the report keeps the static timeline and says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from sim.report.palette import REASON_COLOURS, has_ttft

FRAME_WIDTH_PX = 820
TOOLS = "xpan,xwheel_zoom,xbox_zoom,box_zoom,reset,save"
TRIGGER_COLOUR = "#c62828"
ALERT_COLOUR = "#ff8f00"
MITIGATION_COLOUR = "#1565c0"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def available() -> bool:
    """Whether Bokeh is installed (a runtime dependency; the report falls back to static figures without)."""
    return importlib.util.find_spec("bokeh") is not None


@dataclass(frozen=True)
class Embedded:
    """What a page needs: the inlined library (once per page), then each figure's script and div."""

    resources: str
    script: str
    div: str


def library() -> str:
    """The inlined Bokeh core library, as <script> tags."""
    from bokeh.resources import Resources

    return Resources(mode="inline", components=["bokeh"]).render_js()


def stable_ids(*parts: str) -> tuple[str, ...]:
    """Replace Bokeh's random ids (UUIDs) by ids numbered in order of first appearance, across all parts."""
    mapping: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        key = m.group(0)
        if key not in mapping:
            mapping[key] = f"00000000-0000-4000-8000-{len(mapping) + 1:012d}"
        return mapping[key]

    return tuple(_UUID.sub(sub, p) for p in parts)


@contextlib.contextmanager
def unique_ids() -> Iterator[None]:
    """Models built inside get UUIDs rather than ids from a process-wide counter, so that ``stable_ids``
    can renumber every one of them (the same page whatever was drawn before in the process)."""
    from bokeh.settings import settings

    was_set = settings.simple_ids.is_set
    previous = settings.simple_ids()
    settings.simple_ids.set_value(False)
    try:
        yield
    finally:
        if was_set:
            settings.simple_ids.set_value(previous)
        else:
            settings.simple_ids.unset_value()


def embed(build: Callable[[], Any]) -> tuple[str, str]:
    """(script, div) of the Bokeh model ``build()`` makes, with stable ids."""
    from bokeh.embed import components

    with unique_ids():
        script, div = components(build())
    return stable_ids(script, div)


def time_axis(data: Any, analysis: dict[str, Any]) -> tuple[np.ndarray, bool, str]:
    """The x values of each bucket's middle: seconds, or local clock datetimes with a ``run.start_at`` anchor."""
    t = np.asarray(data.timeseries["t_s"], dtype=float)
    bucket_s = float(data.scenario.run.bucket_s)
    mid = t + bucket_s / 2
    clock = analysis["run"].get("clock")
    if not clock:
        return mid, False, "simulated time (s)"
    from sim.analysis.clock import Anchor

    anchor = Anchor.from_dict(clock)
    start = anchor.at(0.0).replace(tzinfo=None)  # Bokeh draws naive datetimes as they are: local clock time
    return np.array([start + timedelta(seconds=float(x)) for x in mid], dtype="datetime64[ms]"), True, \
        f"clock time ({clock['zone']})"


def _x_of(t_s: float, analysis: dict[str, Any]) -> Any:
    clock = analysis["run"].get("clock")
    if not clock:
        return float(t_s)
    from sim.analysis.clock import Anchor

    local = Anchor.from_dict(clock).at(float(t_s)).replace(tzinfo=None)
    return (local - datetime(1970, 1, 1)).total_seconds() * 1000.0  # Bokeh's datetime unit: ms since the epoch


def _series(data: Any) -> dict[str, np.ndarray]:
    ts = data.timeseries
    bucket_s = float(data.scenario.run.bucket_s)
    out = {
        "arrivals_rps": np.asarray(ts["arrivals"], dtype=float) / bucket_s,
        "attempts_rps": np.asarray(ts["attempts"], dtype=float) / bucket_s,
        "goodput_rps": np.asarray(ts["goodput_rps"], dtype=float),
        "success_ratio": np.asarray(ts["success_ratio"], dtype=float),
        "latency_p50_s": np.asarray(ts["latency_p50_s"], dtype=float),
        "latency_p99_s": np.asarray(ts["latency_p99_s"], dtype=float),
        "ttft_p50_s": np.asarray(ts["ttft_p50_s"], dtype=float),
        "ttft_p99_s": np.asarray(ts["ttft_p99_s"], dtype=float),
        "in_flight": np.asarray(ts["in_flight"], dtype=float),
    }
    for reason in REASON_COLOURS:
        col = ts.get(f"outcome_{reason}")
        if col is not None and reason != "degraded":
            out[f"{reason}_rps"] = np.asarray(col, dtype=float) / bucket_s
    return out


PANELS = (
    ("traffic", "requests / s", [("arrivals_rps", "arrivals", "#455a64", "solid"),
                                 ("attempts_rps", "attempts (with retries)", "#9e9e9e", "dashed"),
                                 ("goodput_rps", "goodput (successes)", "#2e7d32", "solid")]),
    ("success", "success ratio", [("success_ratio", "success ratio", "#2e7d32", "solid")]),
    ("latency", "seconds (log)", [("latency_p99_s", "p99 latency", "#6a1b9a", "solid"),
                                  ("latency_p50_s", "p50 latency", "#ab47bc", "solid"),
                                  ("ttft_p99_s", "p99 TTFT", "#ef6c00", "dashed"),
                                  ("ttft_p50_s", "p50 TTFT", "#ffa726", "dotted")]),
    ("failures", "failures / s", []),
)


def timeline_model(runs: list[tuple[str, Any, dict[str, Any]]]) -> Any:
    """A column of linked panels (traffic, success ratio, latency / TTFT, failures by reason).

    ``runs`` is [(label, run data, analysis)]: one run for a report, two (overlaid, the second
    dashed) for a comparison. Triggers are shaded red, alerts firing are hatched orange over them,
    mitigations are dashed blue lines (of the first run).
    """
    from bokeh.layouts import gridplot
    from bokeh.models import BoxAnnotation, ColumnDataSource, HoverTool, Legend, Range1d, Span
    from bokeh.plotting import figure

    _, first_data, first_a = runs[0]
    x0, is_clock, x_label = time_axis(first_data, first_a)
    end_s = float(first_data.scenario.run.duration_s)
    x_range = Range1d(_x_of(0.0, first_a), _x_of(end_s, first_a))
    sources = []
    for label, data, a in runs:
        x, _, _ = time_axis(data, a)
        cols = _series(data)
        sources.append((label, data, a, ColumnDataSource({"x": x, **cols})))
    panels = []
    fmt_x = "@x{%H:%M:%S}" if is_clock else "@x{0.0} s"
    for key, y_label, lines in PANELS:
        kwargs: dict[str, Any] = {"y_axis_type": "log"} if key == "latency" else {}
        # frame sizes (not outer sizes) so that the panels line up whatever their legends' widths
        p = figure(frame_height=190 if key != "success" else 130, frame_width=FRAME_WIDTH_PX, x_range=x_range,
                   x_axis_type="datetime" if is_clock else "linear", tools=TOOLS, active_scroll="xwheel_zoom",
                   y_axis_label=y_label, name=f"panel-{key}", **kwargs)
        p.title.text = {"traffic": "traffic", "success": "success ratio", "latency": "latency and TTFT",
                        "failures": "failures by reason (and wrong answers)"}[key]
        items = []
        hovers = []
        panel_lines = lines
        if key == "failures":
            present = sorted({c for _, _, _, src in sources for c in src.data if c.endswith("_rps")
                              and c[:-4] in REASON_COLOURS and np.nansum(src.data[c]) > 0})
            panel_lines = [(c, c[:-4], REASON_COLOURS[c[:-4]], "solid") for c in present]
        for i, (label, data, _a, src) in enumerate(sources):
            run_items = []
            for col, name, colour, dash in panel_lines:
                if col.startswith("ttft_") and not has_ttft(data):
                    continue  # plain-mode servers: the first token is the whole answer
                legend = name if len(sources) == 1 else f"{name} — {label}"
                r = p.line("x", col, source=src, color=colour, line_width=1.6 if i == 0 else 1.4,
                           line_dash=dash if i == 0 else "dashed", line_alpha=1.0 if i == 0 else 0.8,
                           name=f"{key}:{col}:{i}")
                run_items.append((legend, r, col))
            items += [(legend, [r]) for legend, r, _ in run_items]
            if run_items:  # one hover per run: in vline mode it shows every series of the run at that time
                tips = [("time" if len(sources) == 1 else f"time — {label}", fmt_x)]
                tips += [(legend, f"@{{{col}}}{{0.[000]}}") for legend, _, col in run_items]
                hovers.append(HoverTool(renderers=[run_items[0][1]], tooltips=tips, mode="vline",
                                        formatters={"@x": "datetime"} if is_clock else {}))
        if key == "success":
            slo = first_data.scenario.slo.availability
            p.add_layout(Span(location=slo, dimension="width", line_color=TRIGGER_COLOUR, line_dash="dotted",
                              line_width=1))
            p.y_range.start, p.y_range.end = -0.02, 1.02
        elif key in ("traffic", "failures"):
            p.y_range.start = 0  # rate axes start at zero
        if items:
            legend = Legend(items=items, click_policy="hide", label_text_font_size="8pt", spacing=0)
            p.add_layout(legend, "right")  # outside the plot: never over the data
            p.add_tools(*hovers)
        else:
            p.title.text += ": none"
            # a flat zero line says "nothing failed" and keeps the panel a real plot (no empty figure)
            src0 = sources[0][3]
            src0.data["zero"] = np.zeros(len(src0.data["x"]))
            p.line("x", "zero", source=src0, color="#9e9e9e", line_width=1, name=f"{key}:none")
        for t in first_a["triggers"]:
            t1 = end_s if t["end_s"] is None else t["end_s"]
            if t1 > t["start_s"]:
                p.add_layout(BoxAnnotation(left=_x_of(t["start_s"], first_a), right=_x_of(t1, first_a),
                                           fill_color=TRIGGER_COLOUR, fill_alpha=0.08, line_color=TRIGGER_COLOUR,
                                           line_alpha=0.5))
            else:
                p.add_layout(Span(location=_x_of(t["start_s"], first_a), dimension="height",
                                  line_color=TRIGGER_COLOUR, line_width=1.5))
        for e in first_a["incident"]["alerts"]:
            t1 = end_s if e["resolved_s"] is None else e["resolved_s"]
            p.add_layout(BoxAnnotation(left=_x_of(e["fired_s"], first_a), right=_x_of(t1, first_a), fill_alpha=0,
                                       hatch_pattern="/", hatch_color=ALERT_COLOUR, hatch_alpha=0.5, line_alpha=0))
        for m in first_a["incident"]["mitigations"]:
            p.add_layout(Span(location=_x_of(m["at_s"], first_a), dimension="height", line_color=MITIGATION_COLOUR,
                              line_dash="dashed", line_width=1.2))
        panels.append(p)
    panels[-1].xaxis.axis_label = x_label
    # one toolbar for the linked panels
    grid = gridplot([[p] for p in panels], merge_tools=True, toolbar_location="above")
    grid.name = "timeline-interactive"
    return grid


def interactive_timeline(runs: list[tuple[str, Any, dict[str, Any]]]) -> tuple[str, str]:
    """(script, div) of the linked interactive panels for one run or overlaid runs."""
    return embed(lambda: timeline_model(runs))
