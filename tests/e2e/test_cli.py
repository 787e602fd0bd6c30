"""The README's commands, run as a user would: ``chaossim run | validate | schema | graph``.

The CLI is started as a separate process (``python -m sim.cli``, the same ``main`` as the console
script), so separate processes with different hash seeds must still agree byte for byte.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim import load_scenario

SHORT = {
    "name": "short",
    "topology": {
        "zones": ["a", "b"],
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["gpu"]}],
        "pools": [{"name": "gpu", "replicas": 3, "zones": ["a", "b"], "server": {"mode": "llm", "model_load_s": 5},
                   "database": "db"}],
        "databases": [{"name": "db", "zone": "a"}],
    },
    "workload": {"clients": [{"name": "users", "target": ["lb"], "zone": "a",
                              "arrival": {"kind": "poisson", "rate_rps": 8}, "timeout_s": 20}]},
    "faults": [{"id": "crash-one", "kind": "crash", "target": {"name": "gpu-1"}, "at_s": 20, "restart_delay_s": 2}],
    "policies": {"health_check": {"period_s": 2}},
    "run": {"duration_s": 60, "warmup_s": 5, "bucket_s": 2, "seed": 3},
}


def chaossim(*args: str, cwd: Path | None = None, hash_seed: str = "random") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def short_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(SHORT, sort_keys=False), encoding="utf-8")
    return path


def assert_clean_error(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines
    for line in lines:
        path, sep, reason = line.partition(": ")
        assert sep and path and reason, f"not a 'path: reason' line: {line!r}"
    return lines


def test_run_demo_writes_every_file(tmp_path):
    out = tmp_path / "demo"
    proc = chaossim("run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "availability" in proc.stdout and "accounting" in proc.stdout and "UNBALANCED" not in proc.stdout
    assert f"results in {out}" in proc.stdout
    assert "[#" not in proc.stderr  # no progress bar when stderr is not a terminal
    for name in ("summary.json", "timeseries.csv", "states.csv", "faults.json", "timeline.png"):
        assert (out / name).stat().st_size > 0, name
    demo = load_scenario("builtin:demo")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == demo.name and summary["seed"] == demo.run.seed
    assert summary["accounting"]["balanced"] is True
    faults = json.loads((out / "faults.json").read_text())
    assert {f["fault"] for f in faults} == {f.id for f in demo.faults}
    assert faults[0]["event"] == "start" and faults[0]["t_s"] == demo.faults[0].at_s
    with open(out / "timeseries.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == round(demo.run.duration_s / demo.run.bucket_s)
    assert {"t_s", "arrivals", "success_ratio", "in_flight"} <= set(rows[0])
    with open(out / "states.csv", newline="") as fh:
        states = list(csv.DictReader(fh))
    assert any(r["state"] == "down" and r["cause_source"] == demo.faults[0].id for r in states)
    width, height = png_size(out / "timeline.png")
    assert width == 1200 and 900 <= height <= 3000
    assert not list(out.glob(".*.tmp")) and not list(out.glob(".*"))  # no temporary files left behind


def test_run_default_directory_and_summary_table(tmp_path, short_yaml):
    proc = chaossim("run", str(short_yaml), "--no-figures", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = list((tmp_path / "runs").iterdir())
    assert run_dir.name.startswith("short-")
    assert (run_dir / "summary.json").is_file()
    assert not (run_dir / "timeline.png").exists()
    summary = json.loads((run_dir / "summary.json").read_text())
    acc = summary["accounting"]
    assert f"{acc['arrivals']} arrived = {acc['ended']} ended + {acc['in_flight_at_end']} in flight" in proc.stdout


def test_same_seed_same_bytes_other_seed_differs(tmp_path, short_yaml):
    outs = {}
    for label, seed_args, hash_seed in (("a", [], "1"), ("b", [], "2"), ("c", ["--seed", "4"], "1")):
        out = tmp_path / label
        proc = chaossim("run", str(short_yaml), "--out", str(out), "--no-figures", *seed_args, hash_seed=hash_seed)
        assert proc.returncode == 0, proc.stderr
        outs[label] = (out / "summary.json").read_bytes()
        outs[label + "-files"] = [(out / name).read_bytes() for name in ("timeseries.csv", "states.csv", "faults.json")]
    assert outs["a"] == outs["b"]  # same seed (the scenario's), separate processes, different hash seeds
    assert outs["a-files"] == outs["b-files"]
    assert outs["a"] != outs["c"]
    assert json.loads(outs["a"])["seed"] == 3 and json.loads(outs["c"])["seed"] == 4


def test_record_requests_writes_one_row_per_ended_request(tmp_path, short_yaml):
    out = tmp_path / "rq"
    proc = chaossim("run", str(short_yaml), "--out", str(out), "--no-figures", "--record-requests")
    assert proc.returncode == 0, proc.stderr
    with open(out / "requests.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    summary = json.loads((out / "summary.json").read_text())
    assert len(rows) == summary["accounting"]["ended"]


def test_validate_ok(short_yaml):
    proc = chaossim("validate", str(short_yaml))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"
    assert chaossim("validate", "builtin:demo").stdout.strip() == "ok"


def test_validate_reports_every_problem(tmp_path):
    bad = json.loads(json.dumps(SHORT))
    bad["topology"]["pools"][0]["replicas"] = -2
    bad["topology"]["pools"][0]["colour"] = "red"
    bad["workload"]["clients"][0]["arrival"]["rate_rps"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    lines = assert_clean_error(chaossim("validate", str(path)))
    paths = {line.partition(": ")[0] for line in lines}
    assert paths == {"topology.pools[0].replicas", "topology.pools[0].colour", "workload.clients[0].arrival.rate_rps"}


def test_validate_reference_errors(tmp_path):
    bad = json.loads(json.dumps(SHORT))
    bad["workload"]["clients"][0]["target"] = ["lb-2"]
    bad["faults"][0]["at_s"] = 600
    path = tmp_path / "refs.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    lines = assert_clean_error(chaossim("validate", str(path)))
    assert "workload.clients[0].target[0]: no load balancer named 'lb-2'" in lines
    assert any(line.startswith("faults[0].at_s: ") for line in lines)


def test_validate_yaml_syntax_error_and_missing_file(tmp_path):
    path = tmp_path / "syntax.yaml"
    path.write_text("name: x\ntopology: {zones: [a]\nrun: {}\n", encoding="utf-8")
    (line,) = assert_clean_error(chaossim("validate", str(path)))
    assert line.startswith(f"{path}: YAML syntax error at line 3")
    (line,) = assert_clean_error(chaossim("validate", str(tmp_path / "nope.yaml")))
    assert line == f"{tmp_path / 'nope.yaml'}: no such file"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    (line,) = assert_clean_error(chaossim("validate", str(path)))
    assert line == "(scenario): a scenario must be a mapping of sections"


def test_run_with_invalid_scenario_or_bad_trace_exits_2(tmp_path):
    (line,) = assert_clean_error(chaossim("run", str(tmp_path / "nope.yaml")))
    assert "no such file" in line
    trace = tmp_path / "trace.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\nnot-a-time,1,2\n", encoding="utf-8")
    sc = json.loads(json.dumps(SHORT))
    sc["workload"]["clients"][0]["arrival"] = {"kind": "trace", "path": str(trace)}
    path = tmp_path / "trace.yaml"
    path.write_text(yaml.safe_dump(sc), encoding="utf-8")
    (line,) = assert_clean_error(chaossim("run", str(path), "--out", str(tmp_path / "o")))
    assert line.startswith(f"workload.clients[0].arrival.path: {trace}: line 2: TIMESTAMP")
    assert not (tmp_path / "o").exists()  # refused before simulating
    (line,) = assert_clean_error(chaossim("validate", str(path)))  # validate reads the trace too
    assert line.startswith("workload.clients[0].arrival.path: ")


def test_schema():
    proc = chaossim("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert {"topology", "workload", "faults", "policies", "slo", "run"} <= set(schema["properties"])


def test_graph(tmp_path, short_yaml):
    out = tmp_path / "topo.png"
    proc = chaossim("graph", str(short_yaml), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    width, height = png_size(out)
    assert width >= 500 and height >= 300
    assert_clean_error(chaossim("graph", str(tmp_path / "missing.yaml"), "--out", str(out)))


def test_console_script_is_installed():
    exe = shutil.which("chaossim")
    if exe is None:
        pytest.skip("chaossim console script not on PATH (package not installed with pip)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("run", "validate", "schema", "graph"):
        assert command in proc.stdout


def test_bad_seed_is_a_usage_error(short_yaml):
    for bad in ("-1", "abc"):
        proc = chaossim("run", str(short_yaml), "--seed", bad, "--no-figures")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "--seed: invalid seed" in proc.stderr


def test_unwritable_output_is_a_clean_error(tmp_path, short_yaml):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    (line,) = assert_clean_error(chaossim("run", str(short_yaml), "--out", str(blocker), "--no-figures"))
    assert line == f"{blocker}: exists and is not a directory"
    (line,) = assert_clean_error(chaossim("graph", str(short_yaml), "--out", str(blocker / "x.png")))
    assert line.startswith(f"{blocker / 'x.png'}: cannot write the figure")


def test_run_with_no_arrivals_still_writes_everything(tmp_path):
    sc = json.loads(json.dumps(SHORT))
    sc["workload"]["clients"][0]["arrival"]["rate_rps"] = 0
    sc["faults"] = []
    path = tmp_path / "idle.yaml"
    path.write_text(yaml.safe_dump(sc), encoding="utf-8")
    out = tmp_path / "idle"
    proc = chaossim("run", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "availability       - (no request ended)" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accounting"]["arrivals"] == 0 and summary["measured"]["availability"] is None
    assert png_size(out / "timeline.png")[0] == 1200
