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
Both in wall-clock time and in CPU time (this process plus its finished children): on a shared,
loaded machine wall time mostly measures the other users, CPU time what this code spends.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def cpu_s() -> float:
    """CPU seconds of this process and of its children that have finished (the pool's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def layer(scenario, n: int, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``replicate`` on a pool of ``workers`` processes, tables included."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        start, cpu = time.perf_counter(), cpu_s()
        rep = replicate(scenario, n, executor=Executor(workers=workers, in_process=False), store=store)
        write_replication(rep, store)
        elapsed, cpu = time.perf_counter() - start, cpu_s() - cpu
    assert rep.failures == 0
    return elapsed, cpu


def per_run_costs(scenario) -> dict[str, float]:
    """CPU seconds per run of what the layer adds around ``run``: pickling the task out and the record
    back, the fingerprint, the JSON record and its atomic write."""
    import pickle

    from sim.experiment.executors import Task, run_task

    task = Task("k", "p", scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": 200.0})}), 1)
    record = run_task(task)
    reps = 200
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        costs = {}
        for name, fn in (("pickle task", lambda: pickle.loads(pickle.dumps(task))),
                         ("pickle record", lambda: pickle.loads(pickle.dumps(record))),
                         ("fingerprint", lambda: task.fingerprint),
                         ("json + atomic write", lambda: store.put(record))):
            start = time.process_time()
            for _ in range(reps):
                fn()
            costs[name] = (time.process_time() - start) / reps
    return costs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--run-s", type=float, default=2.0, help="wall seconds one run should take")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    scenario = calibrated(args.run_s)
    seeds = range(scenario.run.seed, scenario.run.seed + args.runs)
    print(f"{args.runs} runs of mm2 with duration_s={scenario.run.duration_s:g} on {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    costs = per_run_costs(scenario)
    print("per-run costs of the layer (CPU): " + ", ".join(f"{k} {v * 1000:.3f} ms" for k, v in costs.items())
          + f"; total {sum(costs.values()) * 1000:.2f} ms", flush=True)
    start, cpu = time.perf_counter(), cpu_s()
    for seed in seeds:
        run(scenario, seed)
    bare, bare_cpu = time.perf_counter() - start, cpu_s() - cpu
    print(f"bare sim.run loop    wall {bare:8.2f} s  cpu {bare_cpu:8.2f} s   {bare / args.runs:.3f} s/run", flush=True)
    one, one_cpu = layer(scenario, args.runs, 1)
    print(f"layer, 1 process     wall {one:8.2f} s  cpu {one_cpu:8.2f} s   overhead wall "
          f"{100 * (one / bare - 1):+.1f} %, cpu {100 * (one_cpu / bare_cpu - 1):+.1f} %  (target < 5 %)", flush=True)
    many, many_cpu = layer(scenario, args.runs, args.workers)
    print(f"layer, {args.workers} processes    wall {many:8.2f} s  cpu {many_cpu:8.2f} s   speed-up "
          f"{bare / many:.2f}x  (target >= 1.8x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
