"""Files as a hostile user hands them over: pipes, directories, devices, huge files, relative traces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sim.spec import ScenarioError, load_scenario
from sim.spec.source import MAX_SCENARIO_BYTES
from tests.hostile.harness import assert_one_line, chaossim_limited

CORPUS = Path(__file__).with_name("corpus")
TRACE = ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.000,100,10\n"
         "2023-11-16 18:15:46.500,200,20\n2023-11-16 18:15:47.000,300,30\n")


def base_text() -> str:
    return "\n".join(line for line in (CORPUS / "type_replicas_true.yaml").read_text().splitlines()
                     if not line.startswith("#")).replace("replicas: true", "replicas: 2") + "\n"


def one_problem(source) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    assert len(info.value.problems) == 1, info.value.problems
    return str(info.value.problems[0])


def test_base_text_is_valid(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(base_text())
    assert load_scenario(path).name == "hostile-base"


def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    proc = chaossim_limited("validate", str(fifo), timeout_s=20)  # blocked forever before
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, f"{fifo}: is a named pipe")


def test_directory_and_device_are_refused(tmp_path):
    assert one_problem(tmp_path) == f"{tmp_path}: is a directory, not a scenario file"
    assert one_problem("/dev/null") == "/dev/null: is a device, not a scenario file"


def test_missing_and_empty_paths(tmp_path):
    assert one_problem(tmp_path / "nope.yaml").endswith("nope.yaml: no such file")
    assert "empty" in one_problem("")
    assert "not a built-in scenario name" in one_problem("builtin:../../etc/passwd")


def test_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(base_text() + "description: '" + "x" * MAX_SCENARIO_BYTES + "'\n")
    assert f"at most {MAX_SCENARIO_BYTES:,} bytes" in one_problem(path)


def test_not_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(base_text().encode() + b"description: caf\xe9\n")
    lines = base_text().count("\n")
    assert f"cannot be read: not UTF-8 text (byte 0xe9 at line {lines + 1}, column 17)" in one_problem(path)


def _trace_scenario(trace_path: str) -> str:
    data = yaml.safe_load(base_text())
    data["workload"]["clients"][0]["arrival"] = {"kind": "trace", "path": trace_path}
    return yaml.safe_dump(data)


def test_relative_trace_path_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    study = tmp_path / "study"
    (study / "traces").mkdir(parents=True)
    (study / "traces" / "t.csv").write_text(TRACE)
    (study / "s.yaml").write_text(_trace_scenario("traces/t.csv"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # before: the path was taken relative to the working directory
    scenario = load_scenario(study / "s.yaml")
    assert scenario.workload.clients[0].arrival.path == str(study / "traces" / "t.csv")
    proc = chaossim_limited("validate", str(study / "s.yaml"), cwd=elsewhere)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_relative_trace_missing_names_the_resolved_file(tmp_path):
    (tmp_path / "s.yaml").write_text(_trace_scenario("t.csv"))
    assert f"no such trace file '{tmp_path / 't.csv'}'" in one_problem(tmp_path / "s.yaml")


def test_trace_path_that_is_a_pipe_is_refused(tmp_path):
    os.mkfifo(tmp_path / "t.csv")
    (tmp_path / "s.yaml").write_text(_trace_scenario("t.csv"))
    proc = chaossim_limited("validate", str(tmp_path / "s.yaml"))
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "workload.clients[0].arrival.path")
