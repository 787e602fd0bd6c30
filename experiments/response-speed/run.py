"""How much of an outage is the responder? A bad build rolled back after the on-call's diagnosis.

The scenario (scenario.yaml): four replicas at half load; a bad build (60 % server errors) reaches every
replica at 60 s and stays until someone rolls it back. The SLO-derived availability alert pages the
on-call (page 20 s, acknowledge 40 s); after a diagnosis of ``diagnose_s`` and 15 s of decision, a rollback
in batches of two restarts the replicas clean. Only the diagnosis time changes between points; every
point runs the same seeds (common random numbers). Prints one row per point: mean and 95 % CI of the time
to recover and of the failed requests, and the slope of recovery time against diagnosis time (theory: 1).

    PYTHONPATH=. python experiments/response-speed/run.py [--seeds 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

from sim.analysis import analyze
from sim.experiment.run import run
from sim.spec import load_scenario

HERE = Path(__file__).resolve().parent
DIAGNOSE_S = (30.0, 120.0, 300.0, 600.0)


def point(diagnose_s: float, seed: int) -> tuple[float, int]:
    """Time to recover (s) and failed requests of one run."""
    base = load_scenario(HERE / "scenario.yaml")
    oncall = base.response.oncall.model_copy(update={"diagnose_s": diagnose_s})
    scenario = base.model_copy(update={"response": base.response.model_copy(update={"oncall": oncall})})
    res = run(scenario, seed)
    ttr = analyze(res)["incident"]["time_to_recover_s"]
    failed = sum(res.summary["measured"]["failures"].values())
    return (float("nan") if ttr is None else float(ttr)), int(failed)


def ci(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return f"{a.mean():8.1f} ± {half:6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    xs, ys = [], []
    print(f"{'diagnose_s':>10}  {'time to recover (s)':>20}  {'failed requests':>20}")
    for d in DIAGNOSE_S:
        rows = [point(d, s) for s in seeds]
        ttr = [r[0] for r in rows]
        xs += [d] * len(rows)
        ys += ttr
        print(f"{d:10.0f}  {ci(ttr):>20}  {ci([r[1] for r in rows]):>20}")
    fit = stats.linregress(xs, ys)
    print(f"slope of time to recover on diagnosis time: {fit.slope:.3f} "
          f"(95 % CI ± {stats.t.ppf(0.975, len(xs) - 2) * fit.stderr:.3f}; theory 1)")


if __name__ == "__main__":
    main()
