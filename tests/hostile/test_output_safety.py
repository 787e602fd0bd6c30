"""The run directory is chaossim's and only that: no user file is ever modified or deleted.

Every case runs the real command in a temporary folder (tests/hostile/harness.py), and compares the
user's files byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sim.report.manifest import MANIFEST
from tests.hostile.harness import _env, _limit_memory, assert_one_line, chaossim_limited

CORPUS = Path(__file__).with_name("corpus")


def scenario_text(**run) -> str:
    data = yaml.safe_load((CORPUS / "type_replicas_true.yaml").read_text())
    data["topology"]["pools"][0]["replicas"] = 2
    data["run"].update(run)
    return "# my own comments, which chaossim must never rewrite\n" + yaml.safe_dump(data, sort_keys=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def user_folder(tmp_path) -> Path:
    """A user's working folder: their scenario, their own report and data."""
    (tmp_path / "scenario.yaml").write_text(scenario_text())
    (tmp_path / "report.html").write_text("<p>my notes</p>")
    (tmp_path / "requests.csv").write_text("a,b\n1,2\n")
    return tmp_path


def test_out_on_a_users_folder_is_refused_and_touches_nothing(user_folder):
    before = snapshot(user_folder)
    proc = chaossim_limited("run", "scenario.yaml", "--out", ".", "--record-requests", "--report", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "not a chaossim run directory")
    assert "availability" not in proc.stdout  # refused before the simulation
    assert snapshot(user_folder) == before


def test_a_run_directory_lists_exactly_what_chaossim_wrote(user_folder):
    proc = chaossim_limited("run", "scenario.yaml", "--out", "out", "--record-requests", "--report", cwd=user_folder)
    assert proc.returncode == 0, proc.stderr
    out = user_folder / "out"
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format"] == "chaossim-run-directory" and manifest["version"] == 1
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted([*manifest["files"], MANIFEST]) == on_disk
    assert {"summary.json", "requests.csv", "report.html", "analysis.json"} <= set(manifest["files"])
    assert any(f.startswith("figures/") for f in manifest["files"])
    assert not [n for n in on_disk if n.startswith(".") or n.endswith(".tmp")]


def test_rerun_replaces_only_its_own_files_and_stale_figures_go(user_folder):
    out = user_folder / "out"
    assert chaossim_limited("run", "scenario.yaml", "--out", "out", "--report", cwd=user_folder).returncode == 0
    assert (out / "figures").is_dir() and (out / "report.html").exists()
    (out / "my-notes.txt").write_text("mine")  # a user's file in the run directory
    (user_folder / "other.yaml").write_text(scenario_text(duration_s=4, seed=9))
    proc = chaossim_limited("run", "other.yaml", "--out", "out", "--no-figures", cwd=user_folder)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "figures").exists() and not (out / "report.html").exists()
    assert not (out / "timeline.png").exists()
    assert (out / "my-notes.txt").read_text() == "mine"
    files = json.loads((out / MANIFEST).read_text())["files"]
    assert "my-notes.txt" not in files and "report.html" not in files
    assert json.loads((out / "summary.json").read_text())["seed"] == 9


def test_an_old_run_directory_without_a_manifest_is_refused(user_folder):
    assert chaossim_limited("run", "scenario.yaml", "--out", "out", "--no-figures", cwd=user_folder).returncode == 0
    (user_folder / "out" / MANIFEST).unlink()
    before = snapshot(user_folder)
    proc = chaossim_limited("run", "scenario.yaml", "--out", "out", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "older chaossim")
    assert snapshot(user_folder) == before


def test_a_forged_manifest_cannot_point_outside(user_folder):
    out = user_folder / "out"
    out.mkdir()
    forged = {"format": "chaossim-run-directory", "version": 1, "files": ["../scenario.yaml"]}
    (out / MANIFEST).write_text(json.dumps(forged))
    before = (user_folder / "scenario.yaml").read_bytes()
    proc = chaossim_limited("run", "scenario.yaml", "--out", "out", "--no-figures", cwd=user_folder)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr  # not chaossim's manifest: refused
    assert (user_folder / "scenario.yaml").read_bytes() == before


def test_unwritable_out_is_reported_before_the_simulation(user_folder):
    (user_folder / "a-file").write_text("x")
    (user_folder / "long.yaml").write_text(scenario_text(duration_s=3000, bucket_s=1))
    start = time.monotonic()
    proc = chaossim_limited("run", "long.yaml", "--out", "a-file/results", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "a-file/results: cannot write results there")
    assert "availability" not in proc.stdout and time.monotonic() - start < 15


def test_out_is_a_file(user_folder):
    proc = chaossim_limited("run", "scenario.yaml", "--out", "requests.csv", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "requests.csv: exists and is not a directory")


def test_empty_out_is_an_error(user_folder):
    before = snapshot(user_folder)
    proc = chaossim_limited("run", "scenario.yaml", "--out", "", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "--out")
    proc = chaossim_limited("graph", "scenario.yaml", "--out", "", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "--out")
    assert snapshot(user_folder) == before


def test_a_refused_run_leaves_no_empty_folder(user_folder):
    (user_folder / "bad.yaml").write_text(scenario_text().replace("rate_rps: 2", "rate_rps: -2"))
    proc = chaossim_limited("run", "bad.yaml", "--out", "fresh", cwd=user_folder)
    assert proc.returncode == 2 and not (user_folder / "fresh").exists()


def test_graph_does_not_overwrite_without_force(user_folder):
    (user_folder / "topo.png").write_bytes(b"my picture")
    proc = chaossim_limited("graph", "scenario.yaml", "--out", "topo.png", cwd=user_folder)
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, "topo.png: exists")
    assert (user_folder / "topo.png").read_bytes() == b"my picture"
    proc = chaossim_limited("graph", "scenario.yaml", "--out", "topo.png", "--force", cwd=user_folder)
    assert proc.returncode == 0 and (user_folder / "topo.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                       (signal.SIGTERM, 143, "terminated")])
def test_signals_exit_with_one_line_and_leave_no_temporary_file(user_folder, signum, code, word):
    (user_folder / "long.yaml").write_text(scenario_text(duration_s=20000, bucket_s=1).replace("rate_rps: 2",
                                                                                                 "rate_rps: 40"))
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", "long.yaml", "--out", "out"], cwd=user_folder,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_limit_memory)
    deadline = time.monotonic() + 60
    while not (user_folder / "out").exists() and time.monotonic() < deadline:  # the run has started
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == f"chaossim: {word}"
    leftovers = [p.name for p in user_folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert not leftovers


def test_a_closed_pipe_exits_quietly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "schema"], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away, as `| head` does after its lines
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""


def test_version():
    proc = chaossim_limited("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("chaossim ")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rundir")
    (folder / "s.yaml").write_text(scenario_text())
    assert chaossim_limited("run", "s.yaml", "--out", "out", "--no-figures", cwd=folder).returncode == 0
    return folder / "out"


DAMAGED_SUMMARIES = {
    "a list": "[1, 2]",
    "a string": '"summary"',
    "an empty object": "{}",
    "a string seed": None,  # filled in from the real summary below
    "a negative duration": None,
    "measured a list": None,
    "not JSON": "{seed: 3",
    "deeply nested": "[" * 100_000 + "]" * 100_000,
}


def _damaged(real: dict, case: str) -> str:
    if DAMAGED_SUMMARIES[case] is not None:
        return DAMAGED_SUMMARIES[case]
    data = json.loads(json.dumps(real))
    if case == "a string seed":
        data["seed"] = "3"
    elif case == "a negative duration":
        data["duration_s"] = -1
    elif case == "measured a list":
        data["measured"] = [1]
    return json.dumps(data)


@pytest.mark.parametrize("command", ["analyze", "report"])
@pytest.mark.parametrize("case", list(DAMAGED_SUMMARIES))
def test_a_damaged_summary_is_one_line(run_dir, tmp_path, command, case):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    real = json.loads((run_dir / "summary.json").read_text())
    (copy / "summary.json").write_text(_damaged(real, case))
    proc = chaossim_limited(command, str(copy))
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, f"{copy / 'summary.json'}")
    assert not (copy / "report.html").exists() and not (copy / "analysis.json").exists()


def test_a_damaged_scenario_yaml_is_one_line(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "scenario.yaml").write_text("a: " + "[" * 1000 + "]" * 1000 + "\n")
    proc = chaossim_limited("analyze", str(copy))
    assert_one_line(proc.returncode, proc.stderr, proc.stdout, f"{copy / 'scenario.yaml'}")


def test_analyze_and_report_add_their_files_to_the_manifest(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    assert chaossim_limited("analyze", str(copy)).returncode == 0
    assert chaossim_limited("report", str(copy)).returncode == 0
    files = json.loads((copy / MANIFEST).read_text())["files"]
    assert "analysis.json" in files and "report.html" in files and any(f.startswith("figures/") for f in files)
    on_disk = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert sorted([*files, MANIFEST]) == on_disk
    assert os.access(copy / MANIFEST, os.R_OK)
