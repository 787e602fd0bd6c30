"""Comparisons on common random numbers, sweeps, SLO search, Dask, and the CI coverage of replications."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from scipy import stats as st

from sim import load_scenario, with_changes
from sim.analysis.queueing import mmc_mean_wait_s
from sim.analysis.stats import holm, paired_ci
from sim.experiment.compare import compare
from sim.experiment.executors import Executor
from sim.experiment.metrics import Target
from sim.experiment.replicate import metric_stats, replicate
from sim.experiment.search import search
from sim.experiment.store import Store
from sim.experiment.sweep import SweepError, design_points, parse_param, sweep, write_sweep

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_RPS, MU_RPS, SERVERS = 1.0, 1.0, 2


@pytest.fixture(scope="module")
def mm2():
    """The M/M/2 validation scenario, short and at rho 0.5 (fast runs, short correlation time)."""
    return load_scenario(ROOT / "scenarios/validation/mm2.yaml", {
        "run.duration_s": 300, "run.warmup_s": 30, "run.bucket_s": 30,
        "workload.clients.customers.arrival.rate_rps": LAMBDA_RPS})


def one() -> Executor:
    return Executor(workers=1)


def test_replication_ci_covers_the_erlang_c_value_about_95_percent_of_the_time(mm2):
    """Over many small experiments (5 seeds each) the 95 % CI of the mean time in system W = Wq + 1/mu
    covers the Erlang C value in about 95 % of them (binomial acceptance region at 99.9 %)."""
    w_s = mmc_mean_wait_s(LAMBDA_RPS, MU_RPS, SERVERS) + 1 / MU_RPS
    experiments, seeds = 60, 5
    rep = replicate(mm2, experiments * seeds, headline=["latency_mean_s"], first_seed=1000, executor=one())
    rows = [r["latency_mean_s"] for r in rep.rows]
    covered = 0
    for k in range(experiments):
        ci = metric_stats("w", rows[k * seeds:(k + 1) * seeds])
        covered += ci.ci_low <= w_s <= ci.ci_high
    low, high = st.binom.interval(0.999, experiments, 0.95)
    assert low <= covered <= high, f"{covered}/{experiments} CIs covered W = {w_s:.4f} s"


def test_compare_uses_common_random_numbers(mm2):
    faster = with_changes(mm2, {"pools.queue.server.service_time_s.mean": 0.9})
    cmp = compare([("base", mm2), ("same", mm2), ("faster", faster)], 6, headline=["latency_mean_s"],
                  executor=one())
    base = [r["latency_mean_s"] for r in cmp.rows if r["point"] == "base"]
    same = [r["latency_mean_s"] for r in cmp.rows if r["point"] == "same"]
    assert base == same  # same seeds -> the same arrivals and draws -> identical runs
    d_same = next(d for d in cmp.differences if d.b == "same")
    assert d_same.mean == 0 and not d_same.significant and "no difference" in d_same.sentence()
    d_fast = next(d for d in cmp.differences if (d.a, d.b) == ("base", "faster"))
    assert d_fast.mean < 0 and d_fast.significant and d_fast.better() == "faster"
    assert "faster has lower latency_mean_s than base by" in d_fast.sentence()
    assert "significant after Holm correction" in d_fast.sentence()
    # CRN makes the paired interval narrower than the one two independent samples would give
    fast = [r["latency_mean_s"] for r in cmp.rows if r["point"] == "faster"]
    var_paired = st.tvar([f - b for f, b in zip(fast, base, strict=True)])
    assert var_paired < st.tvar(fast) + st.tvar(base)
    assert not cmp.regressions()
    slower = compare([("faster", faster), ("base", mm2)], 6, headline=["latency_mean_s"], executor=one())
    assert [(d.a, d.b, d.metric) for d in slower.regressions()] == [("faster", "base", "latency_mean_s")]


def test_holm_and_paired_tests_match_scipy():
    a = [1.0, 2.0, 3.0, 4.0, 5.5]
    b = [1.5, 2.1, 3.9, 4.2, 6.0]
    cmp = paired_ci(a, b)
    assert cmp.p_value == pytest.approx(st.ttest_rel(b, a).pvalue)
    assert cmp.diff.mean == pytest.approx(0.44)
    # Holm: the smallest p times m, then the running maximum of the step-down products
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.5]) == [0.5]


def test_sweep_params_parse_and_bad_ones_are_refused_before_any_run(mm2, tmp_path):
    assert parse_param("pools.queue.replicas=1,2,3").grid() == [1, 2, 3]
    assert parse_param("faults.x.multiplier=1:2:0.5").grid() == [1.0, 1.5, 2.0]
    assert parse_param("pools.queue.replicas=2:10:4").grid() == [2, 6, 10]
    for text, reason in [
        ("pools.queue.replicas=5:1:1", "inverted range"),
        ("pools.queue.replicas=3:3", "empty range"),
        ("pools.queue.replicas=", "no values"),
        ("pools.queue.replicas=1:x:1", "'x' is not a number"),
        ("pools.queue.replicas=1:3:0", "step must be positive"),
        ("pools.queue.replicas", "expected path="),
    ]:
        with pytest.raises(SweepError, match=reason):
            parse_param(text)
    executor = one()
    for text, reason in [
        ("pools.queue.replicaz=1,2", "unknown key"),
        ("pools.nope.replicas=1,2", "no item named 'nope'"),
        ("pools.queue.replicas=2,0", "value 0: pools.queue.replicas (topology.pools[0].replicas): Input should"),
        ("pools.queue.replicas=1:4", "a range needs a step"),
    ]:
        with pytest.raises(SweepError, match=re.escape(reason)) as info:
            sweep(mm2, [parse_param(text)], 2, executor=executor, store=Store(tmp_path / "bad"))
        assert "\n" not in str(info.value)
    assert executor.stats["ran"] == 0 and not (tmp_path / "bad" / "runs").exists()


def test_sampled_designs_stay_in_their_ranges():
    params = [parse_param("a.x=2:10"), parse_param("a.y=0.5:1.5"), parse_param("a.z=red,green,blue")]
    for method in ("random", "lhs"):
        pts = design_points(params, method, 20, sample_seed=3)
        assert len(pts) == 20 and pts == design_points(params, method, 20, sample_seed=3)
        assert all(2 <= p["a.x"] <= 10 and isinstance(p["a.x"], int) for p in pts)
        assert all(0.5 <= p["a.y"] <= 1.5 for p in pts)
        assert {p["a.z"] for p in pts} <= {"red", "green", "blue"}
    lhs = design_points([parse_param("a.y=0.0:1.0")], "lhs", 10, sample_seed=1)
    assert sorted(math.floor(p["a.y"] * 10) for p in lhs) == list(range(10))  # one sample per stratum


def test_resumed_sweep_gives_the_same_table(mm2, tmp_path):
    params = [parse_param("workload.clients.customers.arrival.rate_rps=0.6,1.0"),
              parse_param("pools.queue.server.concurrency=2:3:1")]
    full = sweep(mm2, params, 3, executor=one(), store=Store(tmp_path / "full"))
    write_sweep(full, Store(tmp_path / "full"))
    store = Store(tmp_path / "resumed")
    partial = sweep(mm2, params, 3, executor=Executor(workers=1, max_new_runs=5), store=store)
    assert len(partial.rows) == 5
    again = Executor(workers=2)
    resumed = sweep(mm2, params, 3, executor=again, store=store)
    write_sweep(resumed, store)
    assert again.stats["reused"] == 5 and again.stats["ran"] == 7
    assert (tmp_path / "full" / "points.csv").read_bytes() == (tmp_path / "resumed" / "points.csv").read_bytes()
    assert (tmp_path / "full" / "runs.csv").read_bytes() == (tmp_path / "resumed" / "runs.csv").read_bytes()
    assert (tmp_path / "full" / "heatmap.png").exists()


def test_search_finds_the_smallest_and_largest_value(mm2):
    target = Target.parse("latency_mean_s<=1.6")  # W = 1.333 s at 1.0/s; W > 1.6 s from about 1.25/s
    scenario = with_changes(mm2, {"workload.clients.customers.arrival.rate_rps": 1.4})
    small = search(scenario, "pools.queue.server.concurrency=1:12", target, n=4, confidence=0.9, executor=one())
    assert small.answer == 3  # 2 slots at 1.4/s: W = 2.75 s; 3 slots: W = 1.1 s
    assert [p.met for p in small.probes][:2] == [True, False]
    large = search(mm2, "workload.clients.customers.arrival.rate_rps=0.2:1.8", target, n=4, confidence=0.9,
                   largest=True, tolerance=0.05, executor=one())
    assert 1.0 < large.answer < 1.35
    none = search(mm2, "pools.queue.server.service_time_s.mean=3:5", target, n=3, executor=one())
    assert none.answer is None and len(none.probes) == 1 and "no value" in none.format()


def test_results_identical_on_a_dask_local_cluster(mm2, tmp_path):
    pytest.importorskip("dask.distributed")
    local = replicate(mm2, 4, executor=one())
    dask = replicate(mm2, 4, executor=Executor(workers=2, dask="local"), store=Store(tmp_path))
    assert local.rows == dask.rows
    assert {m: s.row() for m, s in local.stats.items()} == {m: s.row() for m, s in dask.stats.items()}
