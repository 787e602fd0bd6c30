"""The experiment commands from the command line: --set, replicate, compare, sweep, search, --check."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from sim.cli import main
from tests.e2e.test_cli import chaossim

TINY = {
    "name": "tiny",
    "topology": {
        "load_balancers": [{"name": "lb", "upstream": ["q"], "health_check": {"enabled": False}}],
        "pools": [{"name": "q", "replicas": 1,
                   "server": {"mode": "plain", "concurrency": 2,
                              "service_time_s": {"kind": "exponential", "mean": 1}}}],
    },
    "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1.2},
                              "timeout_s": 5, "retry": {"max_attempts": 1}}]},
    "run": {"duration_s": 150, "warmup_s": 10, "bucket_s": 10, "seed": 1},
}


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``chaossim ARGS`` in this process (fast): exit code, stdout, stderr."""
    try:
        code = main([*args])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def test_set_errors_are_one_line_and_exit_2(tiny, capsys):
    for args, expected in [
        (["--set", "pools.q.replicas=-2"], "pools.q.replicas (topology.pools[0].replicas): Input should be greater"),
        (["--set", "pools.nope.replicas=3"], "pools.nope.replicas: no item named 'nope' (known: q)"),
        (["--set", "pools.q.replicas"], "--set pools.q.replicas: expected path=value"),
    ]:
        for command in ("validate", "run", "replicate", "graph"):
            code, _, err = cli(capsys, command, str(tiny), *args)
            assert code == 2, (command, err)
            assert err.strip().splitlines() == [err.strip()] and expected in err, err
    res = chaossim("validate", str(tiny), "--set", "pools.q.replicas=-2")
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_set_changes_the_run(tiny, tmp_path, capsys):
    code, _, err = cli(capsys, "run", str(tiny), "--set", "run.duration_s=40", "--no-figures", "--out",
                       str(tmp_path / "r"))
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["duration_s"] == 40


def test_replicate_end_to_end_with_check(tiny, tmp_path, capsys):
    out = tmp_path / "rep"
    res = chaossim("replicate", str(tiny), "-n", "3", "--workers", "2", "--out", str(out), "--no-progress",
                   "--target", "availability>=0.5", "--check")
    assert res.returncode == 0, res.stderr
    assert "availability" in res.stdout and "95 % CI" in res.stdout and "the CI covers:" in res.stdout
    rows = list(csv.DictReader((out / "runs.csv").open()))
    assert [r["seed"] for r in rows] == ["1", "2", "3"]
    assert (out / "runs.parquet").stat().st_size > 0 and (out / "summary.csv").exists()
    assert len(list((out / "runs").glob("*.json"))) == 3
    code, stdout, err = cli(capsys, "replicate", str(tiny), "-n", "3", "--out", str(out), "--no-progress",
                            "--workers", "1", "--target", "latency_p99_s<0.001", "--check")
    assert code == 1, err
    assert "NOT met" in stdout
    code, _, err = cli(capsys, "replicate", str(tiny), "-n", "3", "--out", str(out), "--target", "latency")
    assert code == 2 and "--target target 'latency'" in err


def test_compare_end_to_end_with_check(tiny, tmp_path, capsys):
    slow = tmp_path / "slow.yaml"
    slow.write_text("base: tiny.yaml\nname: slow\ntopology:\n  pools:\n"
                    "    - {name: q, server: {mode: plain, concurrency: 2, "
                    "service_time_s: {kind: exponential, mean: 3}}}\n", encoding="utf-8")
    out = tmp_path / "cmp"
    code, stdout, err = cli(capsys, "compare", str(tiny), str(slow), "-n", "4", "--workers", "1", "--out", str(out),
                            "--no-progress", "--metric", "availability", "--check")
    assert code == 1, err  # the second design is significantly worse than the baseline
    assert "slow has lower availability than tiny by" in stdout and "significant after Holm correction" in stdout
    assert "check: slow is significantly worse than tiny on availability" in stdout
    for name in ("runs.csv", "summary.parquet", "differences.csv", "compare.png", "experiment.json"):
        assert (out / name).exists(), name
    code, stdout, _ = cli(capsys, "compare", str(slow), str(tiny), "-n", "4", "--workers", "1", "--out",
                          str(tmp_path / "cmp2"), "--no-progress", "--metric", "availability", "--check")
    assert code == 0 and "check: passed" in stdout


def test_sweep_end_to_end_with_check(tiny, tmp_path, capsys):
    out = tmp_path / "sw"
    args = ("sweep", str(tiny), "--param", "pools.q.server.concurrency=2:3:1", "-n", "3", "--workers", "1",
            "--out", str(out), "--no-progress", "--metric", "latency_mean_s")
    code, stdout, err = cli(capsys, *args, "--target", "latency_mean_s<60", "--check")
    assert code == 0, err
    assert "every point meets latency_mean_s<60" in stdout
    rows = list(csv.DictReader((out / "points.csv").open()))
    assert [r["pools.q.server.concurrency"] for r in rows] == ["2", "3"]
    assert float(rows[1]["latency_mean_s_mean"]) < float(rows[0]["latency_mean_s_mean"])
    assert (out / "sweep.png").exists() and (out / "points.parquet").exists()
    code, stdout, _ = cli(capsys, *args, "--target", "latency_mean_s<1.0", "--check")
    assert code == 1 and "NOT met" in stdout
    code, _, err = cli(capsys, "sweep", str(tiny), "--param", "pools.q.server.concurrency=3:1:1", "--out",
                       str(tmp_path / "bad"))
    assert code == 2
    assert err.strip() == "--param pools.q.server.concurrency=3:1:1: inverted range (low 3 is above high 1)"
    assert not (tmp_path / "bad").exists()


def test_search_end_to_end_with_check(tiny, tmp_path, capsys):
    args = ("search", str(tiny), "--param", "pools.q.server.concurrency=1:8", "-n", "3", "--workers", "1",
            "--no-progress", "--confidence", "0.9")
    code, stdout, err = cli(capsys, *args, "--target", "latency_mean_s<=1.5", "--out", str(tmp_path / "a"), "--check")
    assert code == 0, err
    assert "step  1: pools.q.server.concurrency=8" in stdout and "answer: pools.q.server.concurrency = " in stdout
    manifest = json.loads((tmp_path / "a" / "experiment.json").read_text())
    met = {p["value"]: p["met"] for p in manifest["probes"]}
    assert met[8] and not met[1]
    assert met[manifest["answer"]] and not met[manifest["answer"] - 1]  # bisection ended on adjacent values
    code, stdout, _ = cli(capsys, *args, "--target", "latency_mean_s<=0.5", "--out", str(tmp_path / "b"), "--check")
    assert code == 1 and "no value of pools.q.server.concurrency" in stdout


def test_ctrl_c_leaves_a_usable_table_and_a_rerun_resumes(tiny, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "long"
    cmd = [sys.executable, "-m", "sim.cli", "replicate", str(tiny), "-n", "400", "--workers", "1", "--out",
           str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("runs/*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    rows = list(csv.DictReader((out / "runs.csv").open()))
    done = len(list((out / "runs").glob("*.json")))
    assert 3 <= len(rows) == done < 400
    assert all(r["status"] == "ok" for r in rows)
