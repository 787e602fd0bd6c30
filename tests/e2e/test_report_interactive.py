"""The interactive report in a real browser: the linked time series render, answer a hover with a
tooltip and a mouse-wheel zoom with a new axis range, and the page loads nothing from the network.

Headless Chromium through selenium (skipped with a clear message where either is missing); the
screenshots go to the test's tmp directory, or $CHAOSSIM_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="selenium not installed: pip install selenium (part of the [test] extra)")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin  # noqa: E402

from sim.experiment.run import run  # noqa: E402
from sim.report.compare import write_comparison_report  # noqa: E402
from sim.report.files import write_run  # noqa: E402
from sim.report.html import build_report  # noqa: E402
from tests.e2e.report_page import deep_rects, frame_centre, network_urls, x_range  # noqa: E402
from tests.unit.analysis_scenarios import near_capacity  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("CHAOSSIM_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _wait(predicate, timeout_s: float = 10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def assert_offline(browser) -> None:
    urls = network_urls(browser)
    page = browser.current_url
    outside = [u for u in urls if u and not (u.startswith("data:") or u.startswith("blob:") or u == page)]
    assert not outside, f"the page loads from outside itself: {outside}"


def hover_shows_a_tooltip(browser, canvas: int = 0) -> str:
    x, y = frame_centre(browser, canvas)
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(x - 40, y)
    actions.pointer_action.move_to_location(x, y)
    actions.perform()
    tips = _wait(lambda: [r for r in deep_rects(browser, ".bk-Tooltip") if r["visible"] and r["text"].strip()])
    assert tips, "no tooltip appeared on hover"
    return " | ".join(t["text"] for t in tips)


def wheel_zoom_changes_the_axis(browser, panel: str, canvas: int = 0) -> None:
    before = x_range(browser, panel)
    x, y = frame_centre(browser, canvas)
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_viewport(x, y), 0, -400).perform()
    after = _wait(lambda: x_range(browser, panel) != before and x_range(browser, panel))
    assert after, f"the wheel did not zoom: the range stayed {before}"
    assert after[1] - after[0] < before[1] - before[0], (before, after)


def test_interactive_timeline_hover_zoom_and_no_network(browser, tmp_path: Path):
    write_run(run(near_capacity()), tmp_path, figures=False)
    report, analysis = build_report(tmp_path)
    assert report.stat().st_size < 4_000_000  # a few MB at most, the library included
    browser.get(report.resolve().as_uri())
    canvases = _wait(lambda: [r for r in deep_rects(browser, "canvas") if r["visible"]])
    assert len(canvases) >= 4, "the four linked panels did not render"
    panels = browser.execute_script(
        "return Bokeh.documents[0].all_models ? Array.from(Bokeh.documents[0].all_models)"
        ".filter(m => (m.name || '').startsWith('panel-')).map(m => m.name) : [];")
    assert {"panel-traffic", "panel-success", "panel-latency", "panel-failures"} <= set(panels)
    text = hover_shows_a_tooltip(browser)
    assert "arrivals" in text and "goodput" in text
    wheel_zoom_changes_the_axis(browser, "panel-traffic")
    # the panels share one time axis: zooming one zoomed all
    assert x_range(browser, "panel-latency") == x_range(browser, "panel-traffic")
    shot = _shots(tmp_path) / "report-interactive.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes().startswith(b"\x89PNG")
    assert_offline(browser)


def test_two_run_comparison_in_the_browser(browser, tmp_path: Path):
    dirs = []
    for name, health in (("control", False), ("variant", True)):
        d = tmp_path / name
        write_run(run(near_capacity(health=health)), d, figures=False)
        dirs.append(d)
    page, cmp = write_comparison_report(dirs, tmp_path / "comparison.html")
    browser.get(page.resolve().as_uri())
    cards = browser.execute_script(
        "return Array.from(document.querySelectorAll('.verdict-card')).map(e => e.innerText);")
    assert len(cards) == 2 and all("STEADY STATE" in c.upper() for c in cards)
    assert "variant" in cards[1]
    rows = browser.execute_script("return document.querySelectorAll('#key-figures tbody tr').length;")
    assert rows == len(cmp["figures"])
    canvases = _wait(lambda: [r for r in deep_rects(browser, "canvas") if r["visible"]])
    assert len(canvases) >= 4
    # both runs are overlaid in every panel: their series are in the legend
    text = hover_shows_a_tooltip(browser)
    assert "control" in text and "variant" in text, text
    wheel_zoom_changes_the_axis(browser, "panel-traffic")
    shot = _shots(tmp_path) / "comparison.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes().startswith(b"\x89PNG")
    assert_offline(browser)
