"""The HTML report in a real browser: every figure decodes, the verdict and the incident timeline show.

Uses headless Debian Chromium through selenium (the ``browser`` fixture skips with a clear message
where Chromium or selenium is missing). The screenshot is kept in the test's tmp directory, or in
$CHAOSSIM_SCREENSHOT_DIR when set (CI can upload it).
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.experiment.run import run
from sim.report.files import write_run
from sim.report.html import build_report
from tests.unit.analysis_scenarios import near_capacity

MONITORING = {
    "alerts": [{"name": "errors", "metric": "error_ratio", "op": "above", "threshold": 0.05, "window_s": 10,
                "for_s": 5}],
    "mitigations": [{"name": "restart-api-0", "at_s": 140, "action": "restart the crashed replica",
                     "fault": "crash-one"}],
}


def test_report_renders_in_headless_chromium(browser, tmp_path: Path):
    write_run(run(near_capacity(monitoring=MONITORING)), tmp_path, figures=False)
    report, analysis = build_report(tmp_path)

    browser.get(report.resolve().as_uri())
    assert browser.title.startswith("chaossim report — near-capacity")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth,"
        " h: i.naturalHeight}));"
    )
    assert {i["alt"] for i in images} == {"timeline", "swimlanes", "cascade"}
    broken = [i for i in images if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert not broken, f"images not decoded: {broken}"

    verdict = browser.execute_script("return document.getElementById('verdict').innerText;")
    assert f"steady state {analysis['verdict']}".upper() in verdict.upper()
    timeline = browser.execute_script("return document.getElementById('incident-timeline').innerText;")
    assert "Investigating" in timeline and "Identified" in timeline
    status = browser.execute_script(
        "return Array.from(document.querySelectorAll('#status-page .st')).map(e => e.textContent);"
    )
    assert status[0] == "Investigating"
    visible = browser.execute_script(
        "const r = document.getElementById('verdict').getBoundingClientRect(); return r.top < window.innerHeight;"
    )
    assert visible, "the verdict should be on the first screen"

    shots = Path(os.environ.get("CHAOSSIM_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
