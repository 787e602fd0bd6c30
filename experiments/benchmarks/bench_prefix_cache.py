"""The Mooncake conversation trace on 8 LLM replicas, with and without prefix caching.

Each configuration runs in a fresh interpreter (so its peak RSS is its own), alternating over
rounds; cost is CPU time per simulated request, printed also as a multiple of the simpy floor of
bench.py measured in the same run (absolute speeds do not travel between machines or hours).

    python experiments/benchmarks/bench_prefix_cache.py            # 3 rounds, the whole trace
    python experiments/benchmarks/bench_prefix_cache.py --rounds 1 --to-s 900

Rows: ``floor`` (bench.py's bare simpy M/M/8 loop, 100,000 customers), ``no-cache`` (round robin, no
prefix cache), ``cache-rr`` (a 1M-token prefix cache per replica, round robin), ``cache-affinity``
(the same cache, prefix_affinity routing). Replicas have a 400,000-token KV cache so no Mooncake
prompt is refused; clients wait 600 s, one attempt.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
FLOOR_CUSTOMERS = 100_000


def scenario(config: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = {"mode": "llm", "kv_cache_tokens": 400_000, "max_batch_size": 128,
                              "queue_capacity": 10_000}
    if config["cache"]:
        server["prefix_cache"] = {"capacity_tokens": 1_000_000, "block_tokens": 512}
    arrival: dict[str, Any] = {"kind": "trace", "path": "builtin:mooncake_conv"}
    if config["to_s"]:
        arrival["to_s"] = config["to_s"]
    return {
        "name": f"bench-prefix-{config['label']}",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["gpu"],
                                         "balancing": {"kind": config["balancing"]}}],
                     "pools": [{"name": "gpu", "replicas": 8, "server": server}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": 600, "retry": {"max_attempts": 1},
                                  "arrival": arrival}]},
        "run": {"duration_s": (config["to_s"] or 3540.0) + 600.0, "warmup_s": 0.0},
    }


def one(config: dict[str, Any]) -> dict[str, Any]:
    """Measure one configuration in this process."""
    sys.path.insert(0, str(ROOT))
    if config["label"] == "floor":
        sys.path.insert(0, str(HERE.parent))
        from bench import floor_simpy

        t0, w0 = time.process_time(), time.perf_counter()
        out = floor_simpy(FLOOR_CUSTOMERS)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        requests, extra = out["requests"], {}
    else:
        from sim import parse_scenario, run

        sc = parse_scenario(scenario(config))
        t0, w0 = time.process_time(), time.perf_counter()
        summary = run(sc, seed=1).summary
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        requests = summary["accounting"]["arrivals"]
        caches = [c["prefix_cache"] for c in summary["components"].values() if "prefix_cache" in c]
        looked = sum(c["looked_up_blocks"] for c in caches)
        extra = {"hit_rate": sum(c["hit_blocks"] for c in caches) / looked if looked else None,
                 "ttft_p50_s": summary["measured"]["ttft_s"]["p50"],
                 "skew": summary["components"]["lb"]["load_skew"],
                 "availability": summary["measured"]["availability"]}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"label": config["label"], "requests": requests, "cpu_s": cpu, "wall_s": wall, "peak_mb": peak_mb, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--to-s", type=float, default=None, help="replay only the trace's first seconds")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return
    configs = [{"label": "floor"},
               {"label": "no-cache", "cache": False, "balancing": "round_robin", "to_s": args.to_s},
               {"label": "cache-rr", "cache": True, "balancing": "round_robin", "to_s": args.to_s},
               {"label": "cache-affinity", "cache": True, "balancing": "prefix_affinity", "to_s": args.to_s}]
    results: dict[str, list[dict[str, Any]]] = {c["label"]: [] for c in configs}
    for r in range(args.rounds):
        for config in configs:
            proc = subprocess.run([sys.executable, str(HERE), "--one", json.dumps(config)], capture_output=True,
                                  text=True, check=True)
            results[config["label"]].append(json.loads(proc.stdout))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    floor = min(x["cpu_s"] / x["requests"] for x in results["floor"])
    print(f"{args.rounds} rounds; us/req = CPU microseconds per simulated request (fastest round); "
          f"x floor = multiple of the simpy floor ({floor * 1e6:.2f} us/customer)")
    print(f"{'row':<15} {'requests':>8} {'us/req':>8} {'x floor':>8} {'req/wall-s':>10} {'peak MB':>8} "
          f"{'hit rate':>8} {'TTFT p50':>8} {'skew':>5}")
    for label, rows in results.items():
        best = min(rows, key=lambda x: x["cpu_s"] / x["requests"])
        per = best["cpu_s"] / best["requests"]
        hit = best.get("hit_rate")
        ttft = best.get("ttft_p50_s")
        skew = best.get("skew")
        print(f"{label:<15} {best['requests']:>8} {per * 1e6:>8.1f} {per / floor:>8.1f} "
              f"{best['requests'] / best['wall_s']:>10.0f} {max(x['peak_mb'] for x in rows):>8.0f} "
              f"{'-' if hit is None else f'{hit:.3f}':>8} {'-' if ttft is None else f'{ttft:.2f}':>8} "
              f"{'-' if skew is None else f'{skew:.2f}':>5}")


if __name__ == "__main__":
    main()
