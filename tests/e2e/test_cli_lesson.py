"""``chaossim lesson`` and ``builtin:`` names from the command line: exit codes, one-line errors, the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.spec import lesson as lesson_module
from sim.spec.lesson import lesson_refs

from .test_cli import chaossim

ROOT = Path(__file__).resolve().parents[2]
CHEAPEST = "09-control-plane-and-dns"  # two runs of a fraction of a second


def test_lesson_without_a_number_lists_every_lesson():
    proc = chaossim("lesson")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for ref in lesson_refs():
        assert any(line.split()[0] == str(ref.number) for line in lines[:-1])
    assert "INVALID" not in proc.stdout and lines[-1].startswith("run one with: chaossim lesson N")


def test_a_bad_lesson_number_is_one_line_and_exit_2(capsys):
    proc = chaossim("lesson", "999")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"lesson: no lesson '999' (lessons: {', '.join(str(r.number) for r in lesson_refs())}; "
        "chaossim lesson lists them)"]
    for number in ("abc", "-1", "1.5", "\u00b2", "", "0", "9" * 50):
        assert main(["lesson", number]) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("lesson: no lesson"), err


def test_lesson_runs_its_scenarios_and_writes_the_side_by_side_report(tmp_path: Path, capsys):
    number = next(r.number for r in lesson_refs() if r.folder.name == CHEAPEST)
    out = tmp_path / "lesson"
    proc = chaossim("lesson", str(number), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "claim holds" in proc.stdout and f"report in {out / 'comparison.html'}" in proc.stdout
    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert "no-static-stability" in page and "static-stability" in page
    claim = json.loads((out / "claim.json").read_text(encoding="utf-8"))
    assert claim["holds"] is True and claim["values"]["static-stability"]["availability"] >= 0.99
    for label in ("no-static-stability", "static-stability"):
        assert (out / label / "summary.json").is_file()
    busy = tmp_path / "mine"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["lesson", str(number), "--out", str(busy)]) == 2
    out_text, err = capsys.readouterr()
    assert out_text == "" and len(err.strip().splitlines()) == 1 and "not a chaossim run directory" in err


def test_builtin_names_run_from_the_command_line(capsys):
    proc = chaossim("validate", "builtin:incidents/nope")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "builtin:incidents/nope: no such file: no built-in scenario of that name (chaossim list shows them all)"]
    assert main(["validate", "builtin:incidents/openai-2023-11-08-devday"]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    assert main(["list", "validation"]) == 0
    out = capsys.readouterr().out
    assert "builtin:validation/mm2" in out and "builtin:demo" not in out


@pytest.fixture
def tmp_library(tmp_path: Path, monkeypatch) -> Path:
    """A library holding one lesson over two copies of the discovery pair, for broken and failing lessons."""
    lesson = tmp_path / "lessons" / "01-dns"
    lesson.mkdir(parents=True)
    for name in ("discovery-no-static-stability", "discovery-static-stability"):
        shutil.copy(ROOT / "scenarios" / "teaching" / f"{name}.yaml", lesson / f"{name}.yaml")
    src = (ROOT / "scenarios" / "lessons" / CHEAPEST / "lesson.yaml").read_text(encoding="utf-8")
    (lesson / "lesson.yaml").write_text(src.replace("../../teaching/", ""), encoding="utf-8")
    monkeypatch.setattr(lesson_module, "library_dir", lambda: tmp_path)
    return lesson


def test_a_broken_lesson_is_one_line_per_problem_and_exit_2(tmp_library: Path, capsys):
    text = (tmp_library / "lesson.yaml").read_text(encoding="utf-8")
    (tmp_library / "lesson.yaml").write_text(
        text.replace("of: static-stability", "of: nosuch").replace("must_be: at_most", "must_be: smaller")
        + "extra: 1\n", encoding="utf-8")
    assert main(["lesson", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert sorted(err.strip().splitlines()) == [
        "lessons/01-dns.claim[0].must_be: Input should be 'greater_than', 'less_than', 'at_least', 'at_most' or "
        "'equal_to'",
        "lessons/01-dns.extra: unknown key",
    ]
    (tmp_library / "lesson.yaml").write_text(text.replace("of: static-stability", "of: nosuch"), encoding="utf-8")
    assert main(["lesson", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "lessons/01-dns.claim[1].of: unknown scenario 'nosuch' (labels: no-static-stability, static-stability)")
    (tmp_library / "lesson.yaml").write_text(text.replace("file: discovery-static", "file: ../../../x"),
                                             encoding="utf-8")
    assert main(["lesson", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "lessons/01-dns.scenarios[1].file: must be a file of the scenario library")
    (tmp_library / "lesson.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    assert main(["lesson", "1"]) == 2
    assert capsys.readouterr().err.strip().startswith("lessons/01-dns: YAML error at line")
    (tmp_library / "lesson.yaml").write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    assert main(["lesson", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lessons/01-dns: YAML error at line 1") and "python/object" in err
    assert main(["lesson"]) == 0
    assert "INVALID lessons/01-dns" in capsys.readouterr().out


def test_a_claim_that_does_not_hold_exits_1_and_says_which_check(tmp_library: Path, tmp_path: Path, capsys):
    text = (tmp_library / "lesson.yaml").read_text(encoding="utf-8")
    (tmp_library / "lesson.yaml").write_text(text.replace("must_be: at_least, value: 0.99", "must_be: less_than, "
                                                          "value: 0.5"), encoding="utf-8")
    assert main(["lesson", "1", "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "claim does NOT hold" in out and "[FAILED] availability of static-stability (1) < 0.5" in out
