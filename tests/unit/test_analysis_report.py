"""Figures and the HTML report: deterministic bytes for a seed, expected image sizes, escaping, CLI."""

from __future__ import annotations

import json
import re
import struct

import pytest

from sim.cli import main
from sim.experiment.run import run
from sim.report.figures import DPI, TIMELINE_SIZE_IN, cascade_size_in, swimlane_size_in
from sim.report.files import write_run
from sim.report.html import build_report

from .analysis_scenarios import near_capacity

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("timeline", "swimlanes", "cascade")


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    out = []
    for name in ("a", "b"):
        d = tmp_path_factory.mktemp(name)
        write_run(run(near_capacity(description="<script>alert('x')</script> & co")), d, figures=False)
        build_report(d)
        out.append(d)
    return out


def test_report_is_deterministic_for_a_seed(reported):
    a, b = reported
    assert (a / "report.html").read_bytes() == (b / "report.html").read_bytes()
    for name in FIGURES:
        for ext in ("png", "svg"):
            assert (a / "figures" / f"{name}.{ext}").read_bytes() == (b / "figures" / f"{name}.{ext}").read_bytes()


def test_figures_are_non_empty_images_of_the_expected_size(reported):
    d = reported[0]
    result = run(near_capacity())
    n_states = len({t.component for t in result.transitions})
    expected = {"timeline": TIMELINE_SIZE_IN, "swimlanes": swimlane_size_in(n_states),
                "cascade": cascade_size_in(result.graph.number_of_nodes())}
    for name, (w_in, h_in) in expected.items():
        data = (d / "figures" / f"{name}.png").read_bytes()
        assert png_size(data) == (round(w_in * DPI), round(h_in * DPI)), name
        assert len(data) > 10_000, name  # drawn, not blank
        svg = (d / "figures" / f"{name}.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_report_escapes_the_scenario_and_has_every_section(reported):
    html = (reported[0] / "report.html").read_text(encoding="utf-8")
    # the only scripts are the inlined plotting library and the interactive figure's own
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts and all("Bokeh" in s for s in scripts), [s[:80] for s in scripts]
    page = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert "<script>alert" not in html and "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in html
    for anchor in ('id="verdict"', 'id="incident-timeline"', 'id="fig-timeline"', 'id="fig-swimlanes"',
                   'id="fig-cascade"', 'id="metastability"', 'id="cascade"', 'id="failures"', 'id="budget"',
                   'id="scenario"'):
        assert anchor in html, anchor
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page  # self-contained (the browser test checks the network)


def test_cli_analyze_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    scenario = tmp_path / "s.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump(near_capacity().model_dump(mode="json")), encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(out), "--no-figures", "--report"]) == 0
    assert (out / "report.html").is_file()
    from_run = json.loads((out / "analysis.json").read_text(encoding="utf-8"))  # run --report writes it too
    capsys.readouterr()
    assert main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "STEADY STATE  DEVIATED" in printed and "CASCADE" in printed and "METASTABILITY" in printed
    saved = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert saved["verdict"] == "deviated" and saved["cascade"]["roots"][0]["fault"] == "crash-one"
    assert saved == from_run  # the live result and the run directory give the same analysis
    assert main(["report", str(out)]) == 0
    assert main(["analyze", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
