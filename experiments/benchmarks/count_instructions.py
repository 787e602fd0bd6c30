"""Instructions a bench.py configuration's run executes, counted by valgrind: a cost that does not move with
the machine's load (CPU time on a shared machine varied by a third between rounds of the same tree).

    python experiments/benchmarks/count_instructions.py trace-healthy --trees before=/tmp/perf/before,after=.
    python experiments/benchmarks/count_instructions.py fleet-round_robin-2048 --trees now=.

For each tree it runs valgrind's cachegrind (no cache simulation) twice over a fresh interpreter whose ``sim``
comes from that tree: once importing ``sim`` and parsing the scenario only, once also running it; the
difference is what ``run(scenario)`` executes (build, simulation, results), the span bench.py times. About
60x slower than the run itself. numpy's OpenBLAS runs single-threaded here: its idle worker threads spin, and
under valgrind that spinning added 0-115 M instructions at random to a run (5 % of trace-healthy's).
Instructions are not time (a cache miss costs hundreds of instructions' worth and counts as one), so this
complements bench.py's CPU time rather than replacing it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()


def config(label: str) -> dict:
    sys.path.insert(0, str(HERE.parent))
    import bench

    return bench.config_of(label)


def inside(label: str, mode: str) -> None:
    """What valgrind runs: import, parse and (mode ``run``) run one configuration; prints its requests."""
    from sim import parse_scenario_text, run

    scenario = parse_scenario_text(config(label)["yaml"])
    if mode == "run":
        print(run(scenario).summary["accounting"]["arrivals"])


def count(tree: str, label: str, mode: str) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, str(HERE), "--inside", label, mode], env=env, capture_output=True,
                          text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"{label} ({tree}) failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), proc.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("label", nargs="?", help="a bench.py configuration: trace-healthy, mm8, fleet-POLICY-N...")
    ap.add_argument("--trees", default="now=.", help="NAME=PATH,... source trees")
    ap.add_argument("--inside", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        inside(*args.inside)
        return
    trees = dict(item.split("=", 1) for item in args.trees.split(","))
    for name, tree in trees.items():
        ran, requests = count(tree, args.label, "run")
        base, _ = count(tree, args.label, "parse")
        n = int(requests.splitlines()[-1])
        print(f"{args.label} {name:<8} {(ran - base) / 1e9:7.3f} G instructions in run(), {n} requests, "
              f"{(ran - base) / n / 1e3:7.1f} k per request", flush=True)


if __name__ == "__main__":
    main()
