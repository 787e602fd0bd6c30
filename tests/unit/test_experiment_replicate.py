"""Replications, the run store and the executors: determinism, resuming, failures, sequential precision."""

from __future__ import annotations

import json

import pytest

from sim import parse_scenario, with_changes
from sim.experiment.executors import Executor, Task, run_task
from sim.experiment.metrics import Target, higher_is_better, metrics_of
from sim.experiment.replicate import parse_precision, replicate, write_replication
from sim.experiment.store import Store

TINY = {
    "name": "tiny",
    "topology": {
        "load_balancers": [{"name": "lb", "upstream": ["q"], "health_check": {"enabled": False}}],
        "pools": [{"name": "q", "replicas": 1,
                   "server": {"mode": "plain", "concurrency": 2,
                              "service_time_s": {"kind": "exponential", "mean": 1}}}],
    },
    "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1.2},
                              "timeout_s": None, "retry": {"max_attempts": 1}}]},
    "run": {"duration_s": 200, "warmup_s": 20, "bucket_s": 10, "seed": 1},
}


@pytest.fixture(scope="module")
def tiny():
    return parse_scenario(TINY)


def _table(rep):
    return [{k: v for k, v in r.items()} for r in rep.rows], {m: s.row() for m, s in rep.stats.items()}


def test_replicate_gives_every_metric_with_ci_min_max(tiny, tmp_path):
    rep = replicate(tiny, 5, executor=Executor(workers=1))
    assert [r["seed"] for r in rep.rows] == [1, 2, 3, 4, 5]
    lat = rep.stats["latency_mean_s"]
    assert lat.n == 5 and lat.min <= lat.mean <= lat.max
    assert lat.ci_low < lat.mean < lat.ci_high
    assert rep.stats["availability"].mean == 1.0 and rep.stats["availability"].half_width == 0.0
    # different seeds give different runs (the CI is not an illusion)
    assert len({r["latency_mean_s"] for r in rep.rows}) == 5
    written = write_replication(rep, Store(tmp_path))
    assert any(p.endswith("runs.parquet") for p in written)
    manifest = json.loads((tmp_path / "experiment.json").read_text())
    assert any("poisson arrivals" in line for line in manifest["randomness_covered"])


def test_results_identical_whatever_the_number_of_workers(tiny, tmp_path):
    one = replicate(tiny, 4, executor=Executor(workers=1), store=Store(tmp_path / "one"))
    two = replicate(tiny, 4, executor=Executor(workers=2), store=Store(tmp_path / "two"))
    assert _table(one) == _table(two)
    for seed in (1, 4):
        a = json.loads((tmp_path / "one" / "runs" / f"run-s{seed}.json").read_text())
        b = json.loads((tmp_path / "two" / "runs" / f"run-s{seed}.json").read_text())
        a.pop("elapsed_s"), b.pop("elapsed_s")
        assert a == b


def test_resume_skips_finished_runs_and_gives_the_same_table(tiny, tmp_path):
    full = replicate(tiny, 4, executor=Executor(workers=1))
    store = Store(tmp_path)
    partial = Executor(workers=1, max_new_runs=2)  # stops after 2 runs, as a Ctrl-C would
    first = replicate(tiny, 4, executor=partial, store=store)
    assert len(first.rows) == 2
    (tmp_path / "runs" / "run-s1.json").unlink()  # a lost file is simply run again
    again = Executor(workers=1)
    resumed = replicate(tiny, 4, executor=again, store=store)
    assert again.stats == {"reused": 1, "ran": 3, "failed": 0}
    assert _table(resumed) == _table(full)
    # a changed scenario does not reuse the old runs
    changed = Executor(workers=1)
    replicate(with_changes(tiny, {"workload.clients.c.arrival.rate_rps": 1.0}), 2, executor=changed, store=store)
    assert changed.stats["reused"] == 0


def test_a_failing_run_is_recorded_and_the_rest_go_on(tiny, tmp_path, monkeypatch):
    import sim.experiment.executors as ex

    real = ex.run

    def flaky(scenario, seed):
        if seed == 2:
            raise RuntimeError("boom on seed 2")
        return real(scenario, seed)

    monkeypatch.setattr(ex, "run", flaky)
    rep = replicate(tiny, 3, executor=Executor(workers=1), store=Store(tmp_path))
    assert rep.failures == 1
    bad = next(r for r in rep.rows if r["seed"] == 2)
    assert bad["status"] == "error" and "RuntimeError: boom on seed 2" in bad["error"]
    assert rep.stats["availability"].n == 2
    assert "failed runs:" in rep.format()


def test_sequential_precision_adds_seeds_until_the_half_width_is_below_target(tiny):
    rep = replicate(tiny, 3, precision=0.15, headline=["latency_mean_s"], max_runs=40, executor=Executor(workers=1))
    assert rep.precision_met
    assert rep.stats["latency_mean_s"].half_width < 0.15
    assert len(rep.rows) > 3  # three seeds were not enough for this target
    assert [s["runs"] for s in rep.steps] == sorted(s["runs"] for s in rep.steps)
    capped = replicate(tiny, 3, precision="0.1%", headline=["latency_mean_s"], max_runs=5,
                       executor=Executor(workers=1))
    assert capped.precision_met is False and len(capped.rows) == 5
    # an absolute precision is in one unit: by default it is availability's
    absolute = replicate(tiny, 3, precision=0.01, executor=Executor(workers=1))
    assert absolute.headline == ("availability",) and absolute.precision_met and len(absolute.rows) == 3


def test_precision_parsing():
    assert parse_precision("0.001") == (0.001, False)
    assert parse_precision("5%") == (0.05, True)
    for bad in ("-1", "0", "abc", "x%"):
        with pytest.raises(ValueError):
            parse_precision(bad)


def test_targets_use_a_one_sided_bound():
    t = Target.parse("availability>=0.99")
    assert (t.metric, t.op, t.value) == ("availability", ">=", 0.99)
    assert t.met([0.995, 0.996, 0.994, 0.995], 0.9)[0]
    assert not t.met([0.999, 0.98, 0.999, 0.99], 0.9)[0]  # mean above, lower bound below
    assert Target.parse("latency_p99_s<2").met([1.0, 1.1, 0.9], 0.95)[0]
    for bad in ("availability", "availability=>0.9", "availability>=x"):
        with pytest.raises(ValueError):
            Target.parse(bad)
    assert higher_is_better("availability") and not higher_is_better("latency_p99_s")


def test_run_task_record_is_plain_data(tiny):
    record = run_task(Task("k", "p", tiny, 3))
    assert record["status"] == "ok" and record["seed"] == 3
    json.dumps(record)  # JSON-ready: crosses any process boundary
    assert record["metrics"] == metrics_of(record["summary"])


def test_the_output_says_which_randomness_the_ci_covers(tiny):
    from sim.experiment.randomness import randomness_covered

    lines = randomness_covered(tiny)
    assert any("client c: poisson arrivals" in line for line in lines)
    assert any("service times drawn per seed (pools q)" in line for line in lines)
    replay = with_changes(tiny, {"workload.clients.c.arrival": {"kind": "trace", "path": "builtin:azure_conv"}})
    lines = randomness_covered(replay)
    assert any("trace replayed identically on every seed (arrivals NOT covered by the CI)" in line for line in lines)
    varied = with_changes(replay, {"workload.clients.c.arrival.start_offset": "random",
                                   "workload.clients.c.arrival.loop": True})
    lines = randomness_covered(varied)
    assert any("trace replay varied by the seed (trace start offset" in line for line in lines)
