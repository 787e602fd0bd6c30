"""A damaged run directory gets one clear line naming the file; a rerun never leaves a stale summary."""

from __future__ import annotations

import pytest

from sim import parse_scenario_text, run
from sim.analysis.rundir import RunDirError, load_run
from sim.report.files import write_run

SMALL = """
name: small
topology:
  load_balancers: [{name: lb, upstream: [p]}]
  pools: [{name: p, replicas: 2, server: {mode: plain, service_time_s: {kind: exponential, mean: 0.1}}}]
workload:
  clients: [{name: c, target: [lb], arrival: {kind: poisson, rate_rps: 5}}]
run: {duration_s: 30}
"""


@pytest.fixture()
def run_dir(tmp_path):
    write_run(run(parse_scenario_text(SMALL)), tmp_path, figures=False)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("summary.json", "{bad", "summary.json: cannot be read (JSONDecodeError"),
        ("scenario.yaml", "a: [\n", "scenario.yaml: YAML syntax error at line 2"),
        ("scenario.yaml", "topology: 3\n", "scenario.yaml: not a valid scenario (topology"),
        ("faults.json", "[", "faults.json: cannot be read"),
    ],
)
def test_damaged_file_is_named(run_dir, name, content, expected):
    (run_dir / name).write_text(content)
    with pytest.raises(RunDirError) as info:
        load_run(run_dir)
    assert expected in str(info.value)


def test_rerun_removes_the_old_summary_before_writing(run_dir, monkeypatch):
    """If the second write is interrupted, no summary.json (the completeness mark) is left from the first."""
    import sim.report.files as files

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "_csv_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(run(parse_scenario_text(SMALL), seed=2), run_dir, figures=False)
    assert not (run_dir / "summary.json").exists()
