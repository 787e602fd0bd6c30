"""The experiment layer's cost per run against bare ``sim.run`` calls, and its speed-up on local cores.

    python experiments/benchmarks/bench_experiment.py                # 100 runs of a ~2 s scenario
    python experiments/benchmarks/bench_experiment.py --runs 30 --run-s 1   # quicker

Three timings of the same seeds of the same scenario (the M/M/2 validation queue, its length
calibrated so one run takes about ``--run-s`` seconds here):

- bare: ``sim.run(scenario, seed)`` in a loop, nothing else;
- layer, 1 process: ``replicate`` on a pool of one worker process: process start, pickling the
  scenario out and the record back, metrics, the atomic per-run file, the tables;
- layer, N processes: the same on ``--workers`` processes (default 2).

overhead = layer(1 process) / bare - 1 (target < 5 %); speed-up = bare / layer(N) (target >= 1.8 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim import load_scenario, run  # noqa: E402
from sim.experiment.executors import Executor  # noqa: E402
from sim.experiment.replicate import replicate, write_replication  # noqa: E402
from sim.experiment.store import Store  # noqa: E402


def calibrated(run_s: float):
    """The M/M/2 scenario with a duration that makes one run last about ``run_s`` wall seconds here."""
    base = load_scenario(ROOT / "scenarios/validation/mm2.yaml", {"run.duration_s": 4000, "run.warmup_s": 100})
    start = time.perf_counter()
    run(base, 1)
    per_sim_s = (time.perf_counter() - start) / 4000
    duration = max(200.0, round(run_s / per_sim_s, -2))
    return load_scenario(ROOT / "scenarios/validation/mm2.yaml", {"run.duration_s": duration, "run.warmup_s": 100})


def layer(scenario, n: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        start = time.perf_counter()
        rep = replicate(scenario, n, executor=Executor(workers=workers, in_process=False), store=store)
        write_replication(rep, store)
        elapsed = time.perf_counter() - start
    assert rep.failures == 0
    return elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--run-s", type=float, default=2.0, help="wall seconds one run should take")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    scenario = calibrated(args.run_s)
    seeds = range(scenario.run.seed, scenario.run.seed + args.runs)
    print(f"{args.runs} runs of mm2 with duration_s={scenario.run.duration_s:g} on {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    for seed in seeds:
        run(scenario, seed)
    bare = time.perf_counter() - start
    one = layer(scenario, args.runs, 1)
    many = layer(scenario, args.runs, args.workers)
    print(f"bare sim.run loop      {bare:8.2f} s   {bare / args.runs:.3f} s/run")
    print(f"layer, 1 process       {one:8.2f} s   overhead {100 * (one / bare - 1):+.1f} %  (target < 5 %)")
    print(f"layer, {args.workers} processes     {many:8.2f} s   speed-up {bare / many:.2f}x  (target >= 1.8x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
