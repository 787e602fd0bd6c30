"""Two runs side by side: the key figures' differences, better / worse, and the CLI."""

from __future__ import annotations

import pytest

from sim.analysis import analyze
from sim.cli import main
from sim.experiment.run import run
from sim.report.compare import compare_runs, write_comparison_report
from sim.report.files import write_run

from .analysis_scenarios import near_capacity


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A control without health checks and a variant with them, on the same seed."""
    root = tmp_path_factory.mktemp("pair")
    dirs = []
    for name, health in (("control", False), ("variant", True)):
        d = root / name
        write_run(run(near_capacity(health=health)), d, figures=False)
        dirs.append(d)
    return dirs


def test_differences_are_from_the_control_and_say_which_is_better(pair):
    a, b = (analyze(d) for d in pair)
    cmp = compare_runs([a, b], ["control", "variant"])
    rows = {r["key"]: r for r in cmp["figures"]}
    av = rows["availability"]
    assert av["values"] == [a["measured"]["availability"], b["measured"]["availability"]]
    assert av["differences"][1] == pytest.approx(av["values"][1] - av["values"][0])
    assert av["better"][1] == (av["differences"][1] > 0)  # higher availability is better
    lat = rows["latency_p99_s"]
    assert lat["better"][1] == (lat["differences"][1] < 0)  # lower latency is better
    assert rows["availability"]["differences"][0] == 0 and cmp["same_seed"]
    assert [r["verdict"] for r in cmp["runs"]] == [a["verdict"], b["verdict"]]


def test_write_comparison_report_writes_one_page(pair, tmp_path):
    path, cmp = write_comparison_report(pair, tmp_path / "cmp.html")
    page = path.read_text(encoding="utf-8")
    assert 'id="verdict-0"' in page and 'id="verdict-1"' in page and 'id="key-figures"' in page
    assert 'id="fig-overlay"' in page
    assert "ttft_p99_s" not in {r["key"] for r in cmp["figures"]}  # plain-mode servers
    assert path.stat().st_size < 4_000_000


def test_cli_report_two_runs(pair, capsys):
    assert main(["report", str(pair[0]), str(pair[1])]) == 0
    printed = capsys.readouterr().out
    assert "control: steady state" in printed and "variant: steady state" in printed
    assert (pair[1] / "comparison-vs-control.html").is_file()


def test_cli_report_missing_run_is_a_clean_error(pair, tmp_path, capsys):
    assert main(["report", str(pair[0]), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
    assert main(["report", str(pair[0]), "--out", str(tmp_path / "x.html")]) == 2


def test_the_comparison_has_its_overlay_as_static_png_and_svg(pair, tmp_path, capsys):
    from sim.report.manifest import read_manifest

    assert main(["report", str(pair[0]), str(pair[1])]) == 0
    capsys.readouterr()
    png, svg = pair[1] / "figures" / "comparison-vs-control.png", pair[1] / "figures" / "comparison-vs-control.svg"
    assert png.read_bytes().startswith(b"\x89PNG") and svg.read_text(encoding="utf-8").lstrip().startswith("<")
    page = (pair[1] / "comparison-vs-control.html").read_text(encoding="utf-8")
    assert 'id="fig-overlay-static"' in page
    text = svg.read_text(encoding="utf-8")  # both runs' series are drawn, labelled by run
    assert "control: goodput" in text and "variant: goodput" in text
    listed = read_manifest(pair[1])
    if listed is not None:  # a run directory with a manifest lists what chaossim wrote there
        assert {"figures/comparison-vs-control.png", "figures/comparison-vs-control.svg"} <= set(listed)
    # same runs, same bytes; the figures go beside the page, named after it
    _, cmp = write_comparison_report(pair, tmp_path / "cmp.html", labels=["control", "variant"])
    assert cmp["static_figures"] == ["figures/cmp.png", "figures/cmp.svg"]
    assert (tmp_path / "figures" / "cmp.png").read_bytes() == png.read_bytes()
