"""The interactive timeline: stable bytes, every panel and series, and the fallback without Bokeh."""

from __future__ import annotations

import pytest

import sim.report.html as html_report
from sim.analysis import analyze_full
from sim.experiment.run import run
from sim.report.files import write_run
from sim.report.interactive import interactive_timeline, stable_ids, timeline_model

from .analysis_scenarios import near_capacity


@pytest.fixture(scope="module")
def analysed():
    a, data = analyze_full(run(near_capacity()))
    return a, data


def test_same_run_same_bytes_whatever_was_drawn_before(analysed):
    a, data = analysed
    first = interactive_timeline([("x", data, a)])
    timeline_model([("x", data, a)])  # more models made in this process in between
    assert interactive_timeline([("x", data, a)]) == first


def test_stable_ids_number_in_order_of_first_appearance():
    u1, u2 = "0b8f8d0e-1c7b-4a53-9f59-3d5b2f1e6a10", "7f3c2a1b-0d9e-4c8b-a7f6-5e4d3c2b1a09"
    script, div = stable_ids(f"{u2} {u1} {u2}", f"<div id='{u1}'>")
    assert script == "00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 " \
                     "00000000-0000-4000-8000-000000000001"
    assert div == "<div id='00000000-0000-4000-8000-000000000002'>"


def test_panels_and_series(analysed):
    a, data = analysed
    from bokeh.models import Legend, Plot

    grid = timeline_model([("x", data, a)])
    plots = {p.name: p for p in grid.select({"type": Plot}) if (p.name or "").startswith("panel-")}
    assert set(plots) == {"panel-traffic", "panel-success", "panel-latency", "panel-failures"}
    lat = {r.name.split(":")[1] for r in plots["panel-latency"].renderers if r.name}
    assert lat == {"latency_p50_s", "latency_p99_s"}  # plain-mode servers: no TTFT line
    assert plots["panel-traffic"].y_range.start == 0 and plots["panel-failures"].y_range.start == 0
    legends = list(plots["panel-traffic"].select({"type": Legend}))
    assert legends and all(lg.click_policy == "hide" for lg in legends)
    assert len({p.x_range.id for p in plots.values()}) == 1  # one shared time axis: zoom one, zoom all


def test_without_bokeh_the_report_keeps_static_figures_and_says_so(tmp_path, monkeypatch):
    write_run(run(near_capacity()), tmp_path, figures=False)
    monkeypatch.setattr(html_report, "available", lambda: False)
    report, _ = html_report.build_report(tmp_path)
    page = report.read_text(encoding="utf-8")
    assert 'id="no-interactive"' in page and "pip install bokeh" in page
    assert "<script" not in page and 'id="fig-timeline"' in page
