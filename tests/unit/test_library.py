"""The scenario library: builtin: names, discovery of its files, and the catalogue chaossim list prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.spec import ScenarioError, load_scenario, paths
from sim.spec import library as library_module
from sim.spec.library import catalogue, folders, one_line
from sim.spec.paths import BuiltinError, builtin_file, builtin_id, scenario_files

ROOT = Path(__file__).resolve().parents[2]
VALID = (ROOT / "scenarios" / "validation" / "mm2.yaml").read_text(encoding="utf-8")


def test_in_a_checkout_the_library_is_the_top_level_scenarios_folder():
    assert paths.library_dir() == ROOT / "scenarios"
    devday = ROOT / "scenarios/incidents/openai-2023-11-08-devday.yaml"
    assert builtin_file("incidents/openai-2023-11-08-devday") == devday
    assert builtin_file("demo") == ROOT / "sim/scenarios_builtin/demo.yaml"


def test_every_library_file_is_runnable_by_its_builtin_name():
    files = scenario_files()
    assert {p.parent.name for p in files} >= {"incidents", "faults", "teaching", "validation", "traces"}
    for path in files:
        name = builtin_id(path)
        assert builtin_file(name.removeprefix("builtin:")) == path
    assert load_scenario("builtin:validation/mm2").name == load_scenario(ROOT / "scenarios/validation/mm2.yaml").name


@pytest.mark.parametrize(("name", "reason"), [
    ("../../etc/passwd", "not a built-in scenario name"),
    ("incidents/../../x", "not a built-in scenario name"),
    ("/etc/passwd", "not a built-in scenario name"),
    ("incidents//x", "not a built-in scenario name"),
    ("validation/mm2.yaml", "write builtin:validation/mm2 (without the extension)"),
    ("validation/nope", "no such file"),
    ("nope", "no such file"),
    ("lessons/01-queueing/lesson", "is a lesson's description"),
])
def test_bad_builtin_names_are_one_line(name: str, reason: str):
    with pytest.raises(BuiltinError) as info:
        builtin_file(name)
    assert reason in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f"builtin:{name}")
    assert len(info.value.problems) == 1 and info.value.problems[0].path == f"builtin:{name}"


def test_lesson_descriptions_are_not_scenario_files(tmp_path: Path):
    (tmp_path / "lessons" / "01-x").mkdir(parents=True)
    (tmp_path / "lessons" / "01-x" / "lesson.yaml").write_text("title: x\n")
    (tmp_path / "lessons" / "01-x" / "a.yaml").write_text(VALID)
    assert scenario_files(tmp_path) == [tmp_path / "lessons" / "01-x" / "a.yaml"]
    assert builtin_id(tmp_path / "lessons" / "01-x" / "a.yaml", tmp_path) == "builtin:lessons/01-x/a"


def test_one_line_descriptions():
    assert one_line("  Two\n  lines. ") == "Two lines."
    assert one_line("") == "(no description)"
    long = "First sentence is short. " + "word " * 40
    assert one_line(long) == "First sentence is short."
    cut = one_line("word " * 40)
    assert cut.endswith("...") and len(cut) <= library_module.MAX_LINE_CHARS and "  " not in cut


@pytest.fixture
def small_library(tmp_path: Path, monkeypatch) -> Path:
    """A library of three files, one of them invalid, in place of the real one."""
    (tmp_path / "incidents").mkdir()
    (tmp_path / "newfolder").mkdir()
    (tmp_path / "incidents" / "good.yaml").write_text(VALID)
    (tmp_path / "incidents" / "broken.yaml").write_text(VALID.replace("rate_rps: 1.6", "rate_rps: -1"))
    (tmp_path / "newfolder" / "extra.yaml").write_text(VALID)
    monkeypatch.setattr(paths, "library_dir", lambda: tmp_path)
    monkeypatch.setattr(library_module, "library_dir", lambda: tmp_path)
    return tmp_path


def test_catalogue_lists_an_invalid_scenario_with_its_problem(small_library: Path):
    assert "rate_rps: 1.6" in VALID
    entries = {e.name: e for e in catalogue()}
    assert list(entries) == ["builtin:demo", "builtin:incidents/broken", "builtin:incidents/good",
                             "builtin:newfolder/extra"]
    broken = entries["builtin:incidents/broken"]
    assert broken.problem is not None and "rate_rps" in broken.problem and broken.line == ""
    assert entries["builtin:incidents/good"].problem is None and entries["builtin:incidents/good"].line
    assert folders() == ["demo", "incidents", "newfolder"]
    assert [e.name for e in catalogue("newfolder")] == ["builtin:newfolder/extra"]


def test_list_prints_groups_and_problems_without_a_traceback(small_library: Path, capsys):
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("demo: ") and "incidents: replays of published outages (2)" in lines
    broken = next(line for line in lines if "builtin:incidents/broken" in line)
    assert "INVALID" in broken and "rate_rps" in broken
    assert "newfolder: scenarios (1)" in lines
    assert "1 scenario(s) do not validate" in err and "Traceback" not in err
    assert main(["list", "incidents"]) == 0
    out, _ = capsys.readouterr()
    assert "builtin:demo" not in out and "builtin:incidents/good" in out
    assert main(["list", "nope"]) == 2
    _, err = capsys.readouterr()
    assert err.strip() == "list: no folder 'nope' in the library (folders: demo, incidents, newfolder)"
