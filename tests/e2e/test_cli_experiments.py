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
