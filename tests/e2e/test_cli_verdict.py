"""``chaossim run`` as a CI gate: the verdict line, ``--check`` exit codes and ``--json`` on stdout.

Run as a separate process, as a user or a CI job would. The held / deviated pair is the same small
stack with and without a crash of most of its replicas, so the verdict flips for a reason.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_cli import SHORT, assert_clean_error, chaossim


def _scenario(tmp_path: Path, name: str, faults: list[dict]) -> Path:
    doc = copy.deepcopy(SHORT)
    doc["name"] = name
    doc["faults"] = faults
    doc["slo"] = {"availability": 0.95, "window_s": 10}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


CRASH_ALL = [{"id": "crash-all", "kind": "crash", "target": {"pool": "gpu"}, "at_s": 20, "duration_s": 20}]


@pytest.fixture
def held(tmp_path: Path) -> Path:
    return _scenario(tmp_path, "control", [])


@pytest.fixture
def deviated(tmp_path: Path) -> Path:
    return _scenario(tmp_path, "outage", CRASH_ALL)


def test_run_prints_the_verdict_line(tmp_path, held, deviated):
    ok = chaossim("run", str(held), "--out", str(tmp_path / "a"), "--no-figures")
    bad = chaossim("run", str(deviated), "--out", str(tmp_path / "b"), "--no-figures")
    assert ok.returncode == 0 and bad.returncode == 0, (ok.stderr, bad.stderr)  # without --check: 0 either way
    assert "steady state held: " in ok.stdout
    line = next(x for x in bad.stdout.splitlines() if x.startswith("steady state "))
    assert line.startswith("steady state deviated: availability ≥ 0.95 failed ")


def test_check_exit_code_says_whether_the_steady_state_held(tmp_path, held, deviated):
    assert chaossim("run", str(held), "--out", str(tmp_path / "a"), "--no-figures", "--check").returncode == 0
    assert chaossim("run", str(deviated), "--out", str(tmp_path / "b"), "--no-figures", "--check").returncode == 1


def test_check_with_bad_input_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    doc = copy.deepcopy(SHORT)
    doc["run"]["duration_s"] = -1
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    proc = chaossim("run", str(bad), "--check", "--json", "--out", str(tmp_path / "x"))
    assert assert_clean_error(proc) == ["run.duration_s: Input should be greater than 0"]
    assert proc.stdout == ""


def test_json_prints_only_the_document_on_stdout(tmp_path, deviated):
    out = tmp_path / "run"
    proc = chaossim("run", str(deviated), "--out", str(out), "--json", "--check", "--report")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    summary = json.loads((out / "summary.json").read_text())
    analysis = json.loads((out / "analysis.json").read_text())
    assert doc["summary"] == summary
    assert doc["verdict"]["verdict"] == analysis["verdict"] == "deviated"
    assert doc["verdict"]["headline"] == analysis["headline"]
    assert doc["verdict"]["failures"] and all(f["phase"] for f in doc["verdict"]["failures"])
    assert doc["results"] == str(out) and Path(doc["report"]) == out / "report.html"
    assert "steady state deviated" in proc.stderr and "availability" in proc.stderr  # the words moved to stderr
