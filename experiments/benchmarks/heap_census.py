"""What the event heap holds during a bench.py configuration's run, and what a pop costs at that size: the
part of the fleet's cost per request that grows with the fleet although the work per request does not.

    python experiments/benchmarks/heap_census.py fleet-power_of_two-8 fleet-power_of_two-2048

For each configuration it samples the heap at nine evenly spaced instants of the run (each sample is a timer
pushed before the run starts, so it fires at its instant; the census counts the entries by the callback they
will run, a cancelled timer as ``cancelled``), then times a steady-state pop and push on a heap of (time,
priority, id, event) entries of the mean size it found, against one of 16 entries, alternating, in this
process. A pop of a deeper heap compares more keys, each a tuple and a float somewhere in memory.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()
SAMPLES = 9


def census(label: str) -> tuple[int, float, Counter]:
    """Run one configuration; return its requests, the heap's mean size and its mean make-up by callback."""
    sys.path.insert(0, str(HERE.parent))
    import bench

    import sim.engine.world as world_module
    from sim import parse_scenario_text, run

    config = bench.config_of(label)
    samples: list[Counter] = []

    def sample(env) -> None:
        counts: Counter = Counter()
        for _, _, _, event in env._queue:
            if type(event) is world_module.Timer:
                name = event.fn.__qualname__ if event.pending else "cancelled"
            else:
                name = type(event).__name__
            counts[name] += 1
        samples.append(counts)

    loop = world_module.Clock
    original = loop.run

    def sampled_run(env, until=None):
        loop.run = original
        for k in range(1, SAMPLES + 1):  # priority 1 (NORMAL) with negative ids: before anything due then
            probe = world_module.Timer(sample, (env,))
            heapq.heappush(env._queue, (float(until) * k / (SAMPLES + 1), 1, -k, probe))
        return original(env, until)

    loop.run = sampled_run
    result = run(parse_scenario_text(config["yaml"]))
    total: Counter = Counter()
    for counts in samples:
        total.update(counts)
    total.subtract({sample.__qualname__: sum(range(SAMPLES))})  # the samples not yet fired at each sampling instant
    return result.summary["accounting"]["arrivals"], sum(total.values()) / len(samples), total


def pop_push_us(size: int, ops: int = 200_000, seed: int = 1) -> float:
    """CPU microseconds per heappop + heappush on a heap of ``size`` entries in steady state."""
    rng = random.Random(seed)
    ids = itertools.count()
    heap = [(rng.random(), 1, next(ids), None) for _ in range(size)]
    heapq.heapify(heap)
    delays = [rng.expovariate(1.0) * size for _ in range(ops)]
    pop, push = heapq.heappop, heapq.heappush
    t0 = time.process_time()
    for delay in delays:
        push(heap, (pop(heap)[0] + delay, 1, next(ids), None))
    return (time.process_time() - t0) / ops * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labels", nargs="+", help="bench.py configurations: fleet-POLICY-N, trace-healthy, mm8...")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds of the pop/push timing")
    args = ap.parse_args()
    for label in args.labels:
        requests, mean, total = census(label)
        print(f"{label}: {requests} requests; heap entries, mean of {SAMPLES} samples: {mean:.1f}")
        for name, count in total.most_common(6):
            if count > 0:
                print(f"  {count / SAMPLES:9.1f}  {name}")
        size = max(16, round(mean))
        small, large = [], []
        for _ in range(args.rounds):
            small.append(pop_push_us(16))
            large.append(pop_push_us(size))
        print(f"  pop+push: {min(large):.3f} us at {size} entries, {min(small):.3f} us at 16 "
              f"({min(large) / min(small):.2f}x, fastest of {args.rounds})")


if __name__ == "__main__":
    main()
