"""Same seed, same bytes, across two source trees: digests of every shipped scenario's run files.

A change meant to make the simulator faster must not change what it computes. This runs every scenario
under ``scenarios/`` (and ``builtin:demo``) with one seed, in this interpreter, with ``sim`` imported
from the tree on ``PYTHONPATH``, and writes one line per scenario: the SHA-256 of each file a run
directory holds (summary.json, timeseries.csv, states.csv, faults.json, histograms.csv), as
``chaossim run`` writes them.

    PYTHONPATH=/tmp/before python experiments/benchmarks/same_results.py --out /tmp/before.json
    PYTHONPATH=. python experiments/benchmarks/same_results.py --out /tmp/after.json
    python experiments/benchmarks/same_results.py --compare /tmp/before.json /tmp/after.json

``--compare`` lists every scenario whose files differ (exit code 1) or that only one side ran.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def digests(path: str, seed: int) -> dict[str, str]:
    """The SHA-256 of each run file of one scenario run with ``seed``."""
    from sim import load_scenario, run
    from sim.report.files import _csv_text, _rows_csv, histograms_csv, to_json

    result = run(load_scenario(path if path.startswith("builtin:") else str(ROOT / path)), seed=seed)
    texts = {"summary.json": to_json(result.summary), "timeseries.csv": _csv_text(result.timeseries),
             "states.csv": _rows_csv(result.states_table()), "faults.json": to_json(result.fault_log),
             "histograms.csv": histograms_csv(result.histograms)}
    return {name: hashlib.sha256(text.encode()).hexdigest()[:16] for name, text in texts.items()}


def scenario_paths(skip: list[str]) -> list[str]:
    paths = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "scenarios").rglob("*.yaml"))
             if p.name != "lesson.yaml"]  # a lesson's text, not a scenario
    return ["builtin:demo"] + [p for p in paths if not any(s in p for s in skip)]


def compare(a_path: str, b_path: str) -> int:
    a, b = json.loads(Path(a_path).read_text()), json.loads(Path(b_path).read_text())
    bad = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"only in {'the first' if name in a else 'the second'}: {name}")
            bad += 1
        elif a[name] != b[name]:
            files = [f for f in a[name] if a[name][f] != b[name].get(f)]
            print(f"differs: {name}: {', '.join(files)}")
            bad += 1
    print(f"{len(set(a) & set(b))} scenarios in both, {bad} differ or are missing")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="where to write the digests (JSON)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", default="", help="comma-separated substrings of scenario paths to leave out")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two digest files")
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    import sim

    print(f"sim from {Path(sim.__file__).parent}", file=sys.stderr)
    out: dict[str, dict[str, str]] = {}
    for path in scenario_paths([s for s in args.skip.split(",") if s]):
        t0 = time.process_time()
        try:
            out[path] = digests(path, args.seed)
        except Exception as exc:  # a scenario the tree cannot run is reported, not fatal
            out[path] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  {time.process_time() - t0:6.1f} s  {path}", file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
