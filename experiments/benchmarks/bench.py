"""Benchmarks that travel between machines: every cost is printed as a multiple of a floor measured in the same run.

    python experiments/benchmarks/bench.py                  # stack table + fleet table (several minutes)
    python experiments/benchmarks/bench.py --quick          # fewer customers and rounds (a few minutes)
    python experiments/benchmarks/bench.py --only stack     # or: fleet
    python experiments/benchmarks/bench.py --trees before=/tmp/before,after=.   # two source trees, alternated
    python experiments/benchmarks/bench.py --profile trace-healthy              # cProfile one config

Absolute speeds do not travel between machines (nor between hours on a shared one); ratios to a floor
measured in the same run, alternating, do. The stack table runs, round after round in turn:

- ``floor``: a bare simpy loop of an M/M/8 queue at rho 0.9, two events per customer (an arrival that
  schedules the next one, a service completion), random numbers drawn in numpy blocks as the simulator
  draws them: the least any simpy-based simulator can spend per customer;
- ``floor-heapq``: the same loop on a bare ``heapq`` (for information: what simpy itself costs);
- ``mm8``: the same queue as a chaossim scenario (plain mode, one replica with 8 slots, no health checks,
  timeouts or retries);
- ``trace-healthy`` and ``trace-overload``: the shipped Azure conversation trace through 8 LLM replicas
  behind one load balancer (power of two choices), one database call per request, clients with a 60 s
  timeout and 3 attempts; ``time_scale`` 0.3 (about 65 % of capacity) and 0.1 (three times that).

The fleet table runs 8, 64, 512 and 2048 LLM replicas (two zones, one load balancer with health checks
on, 16 users per replica) at a constant load per replica, for every balancing policy, and
prints each policy's cost per request as a multiple of its own 8-replica figure. Each round also runs
``floor-fleet`` at every size (``floor_fleet``: bare simpy, as many M/M/1 servers), whose own multiple is what
the machine charges for the fleet's size alone; ``/floor`` divides each policy's multiple by it.

Every measurement is a fresh subprocess, so its peak memory (ru_maxrss) is its own; numpy's OpenBLAS runs
single-threaded in it, since idle worker threads that spin count in the process's CPU time. Cost is CPU time of
that process (``time.process_time``): on a shared machine it is far steadier than wall time, which is
printed too. Each row reports the fastest and the median of its rounds. Beside cost and memory each run
reports the share of CPU spent in the garbage collector and, at the end of the simulated time, how many
attempts are still held in memory against how many are unfinished (what memory should follow).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()

# ---- scenarios ----------------------------------------------------------------------------------

MM8 = """
name: bench-mm8
topology:
  load_balancers: [{{name: lb, upstream: [queue], health_check: {{enabled: false}}}}]
  pools:
    - name: queue
      replicas: 1
      server: {{mode: plain, concurrency: 8, service_time_s: {{kind: exponential, mean: 1.0}},
               queue_capacity: 10000000}}
workload:
  clients:
    - {{name: customers, target: [lb], arrival: {{kind: poisson, rate_rps: 7.2}}, timeout_s: null,
       retry: {{max_attempts: 1}}}}
run: {{duration_s: {duration_s}, warmup_s: 0, seed: 1, bucket_s: 100}}
"""

TRACE = """
name: bench-trace
topology:
  zones: [zone-a]
  load_balancers: [{{name: lb-1, upstream: [gpu]}}]
  pools:
    - {{name: gpu, replicas: 8, server: {{mode: llm}}, database: db-1, db_calls_per_request: 1}}
  databases: [{{name: db-1}}]
workload:
  clients:
    - name: users
      target: [lb-1]
      arrival: {{kind: trace, path: "builtin:azure_conv", time_scale: {time_scale}, loop: true}}
      timeout_s: 60
      retry: {{max_attempts: 3, backoff_base_s: 0.1, backoff_cap_s: 5}}
policies:
  balancing: {{kind: power_of_two}}
run: {{duration_s: {duration_s}, warmup_s: 0, seed: 1, bucket_s: 10}}
"""

FLEET = """
name: bench-fleet
topology:
  zones: [zone-a, zone-b]
  load_balancers: [{{name: lb-1, zone: zone-a, upstream: [gpu]}}]
  pools:
    - {{name: gpu, replicas: {replicas}, zones: [zone-a, zone-b], server: {{mode: llm}}}}
workload:
  clients:
    - name: users
      zone: zone-a
      users: {users}
      target: [lb-1]
      arrival: {{kind: trace, path: "builtin:azure_conv", time_scale: {time_scale}, loop: true}}
      timeout_s: 60
      retry: {{max_attempts: 3, backoff_base_s: 0.1, backoff_cap_s: 5}}
policies:
  balancing: {{kind: {policy}}}
  health_check: {{enabled: true}}
run: {{duration_s: {duration_s}, warmup_s: 0, seed: 1, bucket_s: 10}}
"""

POLICIES = ("round_robin", "random", "least_outstanding", "power_of_two", "zone_aware", "sticky", "shuffle_shard")
SIZES = (8, 64, 512, 2048)
FLEET_TIME_SCALE_AT_8 = 2.4
"""An eighth of the healthy trace load: about 0.28 requests/s per replica (a tenth of a replica's capacity), so
that 2048 replicas for longer than the client timeout stay within minutes."""
TRACE_RATE_AT_SCALE_1 = 19366 / 3600 * 1.0
"""Requests per second of the looped trace at time_scale 1 (19,366 requests over about an hour)."""
MM8_RATE_RPS = 7.2


def stack_configs(quick: bool) -> list[dict[str, Any]]:
    customers = 50_000 if quick else 200_000
    trace_s = 600.0 if quick else 1200.0
    return [
        {"kind": "floor", "label": "floor", "customers": customers},
        {"kind": "floor-heapq", "label": "floor-heapq", "customers": customers},
        {"kind": "scenario", "label": "mm8", "yaml": MM8.format(duration_s=customers / MM8_RATE_RPS)},
        {"kind": "scenario", "label": "trace-healthy", "yaml": TRACE.format(time_scale=0.3, duration_s=trace_s)},
        {"kind": "scenario", "label": "trace-overload", "yaml": TRACE.format(time_scale=0.1, duration_s=trace_s)},
    ]


def fleet_config(replicas: int, policy: str, quick: bool) -> dict[str, Any]:
    """A fleet run at constant load per replica; long enough for its requests and for the client timeout (60 s)
    to be passed, so that what finished attempts cost in memory is seen."""
    time_scale = FLEET_TIME_SCALE_AT_8 * 8 / replicas
    rate_rps = TRACE_RATE_AT_SCALE_1 / time_scale
    target_requests = 10_000 if quick else 30_000
    duration_s = max(target_requests / rate_rps, 75.0)
    return {"kind": "scenario", "label": f"fleet-{policy}-{replicas}", "replicas": replicas, "policy": policy,
            "yaml": FLEET.format(replicas=replicas, users=16 * replicas, time_scale=f"{time_scale:.6g}",
                                 policy=policy, duration_s=round(duration_s, 1))}


def fleet_floor_config(replicas: int, quick: bool) -> dict[str, Any]:
    """The fleet floor (``floor_fleet``) at ``replicas`` servers."""
    return {"kind": "floor-fleet", "label": f"floor-fleet-{replicas}", "replicas": replicas,
            "customers": 200_000 if quick else 500_000}


def config_of(label: str, quick: bool = True) -> dict[str, Any]:
    """The configuration a label names: a stack table's (``mm8``, ``trace-healthy``...), ``fleet-POLICY-N`` or
    ``floor-fleet-N``."""
    if label.startswith("floor-fleet-"):
        return fleet_floor_config(int(label.rsplit("-", 1)[1]), quick)
    if label.startswith("fleet-"):
        _, policy, n = label.rsplit("-", 2)
        return fleet_config(int(n), policy, quick)
    return {c["label"]: c for c in stack_configs(quick)}[label]


# ---- floors -------------------------------------------------------------------------------------


class _Blocks:
    """Exponential draws handed out one by one from numpy blocks (as the simulator's samplers do)."""

    def __init__(self, rng, mean: float):
        self.rng, self.mean, self.buf, self.i = rng, mean, [], 0

    def __call__(self) -> float:
        if self.i >= len(self.buf):
            self.buf, self.i = self.rng.exponential(self.mean, 1024).tolist(), 0
        self.i += 1
        return self.buf[self.i - 1]


def floor_simpy(customers: int) -> dict[str, Any]:
    """M/M/8 at rho 0.9 on simpy with bare scheduled callbacks: two events per customer, nothing else."""
    import numpy as np
    import simpy
    from simpy.events import NORMAL

    rng = np.random.default_rng(1)
    gap, service = _Blocks(rng, 1 / MM8_RATE_RPS), _Blocks(rng, 1.0)
    env = simpy.Environment()
    schedule = env.schedule
    waiting: deque[float] = deque()
    busy = arrived = done = 0
    wait_s = 0.0

    class Call:
        __slots__ = ("callbacks", "_ok", "fn", "arg")

        def __init__(self, fn, arg):
            self.callbacks, self._ok, self.fn, self.arg = [fire], True, fn, arg

    def fire(ev: Call) -> None:
        ev.fn(ev.arg)

    def arrive(_: Any) -> None:
        nonlocal busy, arrived
        arrived += 1
        if arrived < customers:
            schedule(Call(arrive, None), NORMAL, gap())
        if busy < 8:
            busy += 1
            schedule(Call(depart, env.now), NORMAL, service())
        else:
            waiting.append(env.now)

    def depart(t_arrival: float) -> None:
        nonlocal busy, done, wait_s
        done += 1
        wait_s += env.now - t_arrival
        if waiting:
            schedule(Call(depart, waiting.popleft()), NORMAL, service())
        else:
            busy -= 1

    env.schedule(Call(arrive, None), NORMAL, gap())
    env.run()
    return {"requests": done, "attempts": done}


FLEET_FLOOR_BUSY = 0.85
"""The fleet floor's utilisation per server: the share of replicas with a pending event in the fleet runs
(heap_census.py: 1,745 entries for 2,048 power_of_two replicas), so that its event list is as deep."""


def floor_fleet(customers: int, servers: int) -> dict[str, Any]:
    """``servers`` M/M/1 queues at utilisation FLEET_FLOOR_BUSY on simpy with bare scheduled callbacks, each
    customer sent to a server drawn uniformly: two events per customer and one small object per server. What
    any simpy-based simulator of that many servers spends at the least, so its cost at 2048 servers over its
    cost at 8 is what the machine (event-list depth, caches) charges for the fleet's size alone."""
    import numpy as np
    import simpy
    from simpy.events import NORMAL

    rng = np.random.default_rng(1)
    gap, service = _Blocks(rng, 1 / (FLEET_FLOOR_BUSY * servers)), _Blocks(rng, 1.0)
    env = simpy.Environment()
    schedule = env.schedule

    class Server:
        __slots__ = ("busy", "waiting", "done", "wait_s")

        def __init__(self) -> None:
            self.busy, self.waiting, self.done, self.wait_s = False, deque(), 0, 0.0

    fleet = [Server() for _ in range(servers)]
    picks: list[int] = []
    arrived = 0

    class Call:
        __slots__ = ("callbacks", "_ok", "fn", "arg", "server")

        def __init__(self, fn, arg, server):
            self.callbacks, self._ok, self.fn, self.arg, self.server = [fire], True, fn, arg, server

    def fire(ev: Call) -> None:
        ev.fn(ev.arg, ev.server)

    def arrive(_: Any, __: Any) -> None:
        nonlocal arrived, picks
        if not picks:
            picks = rng.integers(0, servers, 1024).tolist()
        server = fleet[picks.pop()]
        arrived += 1
        if arrived < customers:
            schedule(Call(arrive, None, None), NORMAL, gap())
        if server.busy:
            server.waiting.append(env.now)
        else:
            server.busy = True
            schedule(Call(depart, env.now, server), NORMAL, service())

    def depart(t_arrival: float, server: Any) -> None:
        server.done += 1
        server.wait_s += env.now - t_arrival
        if server.waiting:
            schedule(Call(depart, server.waiting.popleft(), server), NORMAL, service())
        else:
            server.busy = False

    env.schedule(Call(arrive, None, None), NORMAL, gap())
    env.run()
    done = sum(s.done for s in fleet)
    return {"requests": done, "attempts": done}


def floor_heapq(customers: int) -> dict[str, Any]:
    """The same M/M/8 loop on a bare heapq (time, sequence, callback, argument)."""
    import numpy as np

    rng = np.random.default_rng(1)
    gap, service = _Blocks(rng, 1 / MM8_RATE_RPS), _Blocks(rng, 1.0)
    heap: list[tuple[float, int, Any, Any]] = []
    waiting: deque[float] = deque()
    seq, now, busy, arrived, done = 0, 0.0, 0, 0, 0
    heapq.heappush(heap, (gap(), 0, "a", 0.0))
    while heap:
        now, _, kind, t_arrival = heapq.heappop(heap)
        seq += 1
        if kind == "a":
            arrived += 1
            if arrived < customers:
                heapq.heappush(heap, (now + gap(), seq, "a", 0.0))
                seq += 1
            if busy < 8:
                busy += 1
                heapq.heappush(heap, (now + service(), seq, "d", now))
            else:
                waiting.append(now)
        else:
            done += 1
            if waiting:
                heapq.heappush(heap, (now + service(), seq, "d", waiting.popleft()))
            else:
                busy -= 1
    return {"requests": done, "attempts": done}


# ---- one measurement (in its own subprocess) -------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _GcClock:
    """CPU seconds spent inside the garbage collector (gc.callbacks around each collection)."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self.collections = 0
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.process_time()
        else:
            self.total_s += time.process_time() - self._t0
            self.collections += 1


class _EndOfRun:
    """Wraps simpy's ``Environment.run``: notes when the simulation starts (the end of the build) and, when it
    returns, counts the attempts still alive in memory and how many of them are unfinished."""

    def __init__(self) -> None:
        self.t_start = None
        self.held = 0
        self.unfinished = 0
        self.count_cpu_s = 0.0

    def install(self) -> None:
        import simpy

        import sim.engine.world

        loop = getattr(sim.engine.world, "Clock", simpy.Environment)  # a tree whose World has its own loop
        original = loop.run
        probe = self

        def run(env, until=None):
            if probe.t_start is None:
                probe.t_start = time.process_time()
            out = original(env, until)
            t0 = time.process_time()
            held = unfinished = 0
            for obj in gc.get_objects():
                if type(obj).__name__ == "Attempt":
                    held += 1
                    if not getattr(obj, "finished", True):
                        unfinished += 1
            probe.held, probe.unfinished = held, unfinished
            probe.count_cpu_s += time.process_time() - t0
            return out

        loop.run = run


def measure(config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration in this process; report CPU and wall time, requests, memory, GC share."""
    gc_clock = _GcClock()
    out: dict[str, Any] = {"label": config["label"]}
    if config["kind"] == "scenario":
        import sim
        from sim import parse_scenario_text, run

        tree = os.environ.get("PYTHONPATH", "")
        if tree and not Path(sim.__file__).resolve().is_relative_to(Path(tree).resolve()):
            raise SystemExit(f"sim imported from {sim.__file__}, not from the tree {tree}")

        scenario = parse_scenario_text(config["yaml"])
        probe = _EndOfRun()
        probe.install()
        base_mb = _rss_mb()
        gc.callbacks.append(gc_clock)
        c0, w0 = time.process_time(), time.perf_counter()
        result = run(scenario)
        cpu_s, wall_s = time.process_time() - c0 - probe.count_cpu_s, time.perf_counter() - w0 - probe.count_cpu_s
        gc.callbacks.remove(gc_clock)
        acc = result.summary["accounting"]
        out.update(requests=acc["arrivals"], attempts=result.summary["attempts"],
                   availability=result.summary["measured"]["availability"],
                   build_cpu_s=round((probe.t_start or c0) - c0, 4), held=probe.held, unfinished=probe.unfinished)
    else:
        import numpy  # noqa: F401  (imported before the baseline, as the scenario runs import sim first)
        import simpy  # noqa: F401

        base_mb = _rss_mb()
        gc.callbacks.append(gc_clock)
        c0, w0 = time.process_time(), time.perf_counter()
        if config["kind"] == "floor-fleet":
            out.update(floor_fleet(config["customers"], config["replicas"]))
        else:
            out.update((floor_simpy if config["kind"] == "floor" else floor_heapq)(config["customers"]))
        cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
        gc.callbacks.remove(gc_clock)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.update(cpu_s=round(cpu_s, 4), wall_s=round(wall_s, 4), us_per_request=cpu_s / out["requests"] * 1e6,
               gc_share=gc_clock.total_s / cpu_s if cpu_s else 0.0, gc_collections=gc_clock.collections,
               peak_mb=round(peak_mb, 1), run_mb=round(peak_mb - base_mb, 1))
    return out


def run_one(config: dict[str, Any], tree: str) -> dict[str, Any]:
    """Measure ``config`` in a fresh interpreter whose ``sim`` package comes from ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(HERE), "--one", json.dumps(config)], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{config['label']} ({tree}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- tables -------------------------------------------------------------------------------------


def _rounds(configs: list[dict[str, Any]], trees: dict[str, str], rounds: int) -> dict[tuple[str, str], list[dict]]:
    """Run every (config, tree) once per round, in turn, so slow phases of a shared machine hit all alike."""
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(rounds):
        for config in configs:
            for name, tree in trees.items():
                if config["kind"] != "scenario" and name != next(iter(trees)):
                    continue  # the floors do not depend on the tree
                res = run_one(config, tree)
                results.setdefault((config["label"], name if config["kind"] == "scenario" else ""), []).append(res)
                print(f"  round {r + 1}/{rounds} {config['label']:<28} {name:<8} {res['us_per_request']:8.1f} us/req "
                      f"{res['peak_mb']:7.1f} MB", file=sys.stderr, flush=True)
    return results


def _fast_med(runs: list[dict], key: str = "us_per_request") -> tuple[float, float]:
    values = [r[key] for r in runs]
    return min(values), statistics.median(values)


def stack_table(trees: dict[str, str], rounds: int, quick: bool) -> None:
    configs = stack_configs(quick)
    results = _rounds(configs, trees, rounds)
    floor_fast, floor_med = _fast_med(results[("floor", "")])
    print(f"\nstack table: {rounds} rounds; cost = CPU us per request, x = multiple of the simpy floor "
          f"({floor_fast:.2f} us fastest, {floor_med:.2f} us median)")
    print(f"{'config':<16} {'tree':<8} {'requests':>9} {'attempts':>9} {'us/req':>8} {'x fast':>7} {'x med':>7} "
          f"{'req/cpu-s':>10} {'req/wall-s':>10} {'gc %':>5} {'peak MB':>8} {'run MB':>7} {'held':>7} {'open':>6}")
    for (label, tree), runs in results.items():
        fast, med = _fast_med(runs)
        best = min(runs, key=lambda r: r["us_per_request"])
        wall = max(r["requests"] / r["wall_s"] for r in runs)
        print(f"{label:<16} {tree:<8} {best['requests']:>9} {best['attempts']:>9} {fast:>8.2f} "
              f"{fast / floor_fast:>7.2f} {med / floor_med:>7.2f} {1e6 / fast:>10.0f} {wall:>10.0f} "
              f"{100 * best['gc_share']:>5.1f} {max(r['peak_mb'] for r in runs):>8.1f} "
              f"{max(r['run_mb'] for r in runs):>7.1f} {best.get('held', ''):>7} {best.get('unfinished', ''):>6}")
    by = {key: _fast_med(runs) for key, runs in results.items()}
    for tree in trees:
        h, o = by.get(("trace-healthy", tree)), by.get(("trace-overload", tree))
        if h and o:
            print(f"{tree}: overload / healthy per request: {o[0] / h[0]:.2f} fastest, {o[1] / h[1]:.2f} median")
    if len(trees) == 2:
        a, b = list(trees)
        for label in ("mm8", "trace-healthy", "trace-overload"):
            fa, fb = by[(label, a)], by[(label, b)]
            print(f"{label}: {a} / {b} cost per request: {fa[0] / fb[0]:.2f} fastest, {fa[1] / fb[1]:.2f} median")


def fleet_table(trees: dict[str, str], rounds: int, quick: bool, policies: tuple[str, ...],
                sizes: tuple[int, ...]) -> None:
    floors = [fleet_floor_config(n, quick) for n in sizes]
    configs = floors + [fleet_config(n, p, quick) for p in policies for n in sizes]
    results = _rounds(configs, trees, rounds)
    floor = {n: _fast_med(results[(f["label"], "")]) for n, f in zip(sizes, floors, strict=True)}
    print(f"\nfleet table: {rounds} round(s); cost = CPU us per request (fastest), x8 = multiple of the same "
          f"policy's {sizes[0]}-replica cost (fastest; med: of the medians), /floor = x8 over the fleet floor's own "
          f"x8 (bare simpy, as many servers); MB = peak RSS (run MB: above the RSS before the run)")
    print(f"{'policy':<18} {'tree':<8} {'replicas':>8} {'requests':>9} {'us/req':>8} {'x8':>6} {'x8 med':>6} "
          f"{'/floor':>6} {'build s':>7} {'gc %':>5} {'peak MB':>8} {'run MB':>7} {'held':>8} {'open':>7}")
    for n in sizes:
        fast, med = floor[n]
        print(f"{'floor-fleet':<18} {'':<8} {n:>8} {results[(f'floor-fleet-{n}', '')][0]['requests']:>9} "
              f"{fast:>8.2f} {fast / floor[sizes[0]][0]:>6.2f} {med / floor[sizes[0]][1]:>6.2f}")
    for policy in policies:
        for tree in trees:
            base = results.get((fleet_config(sizes[0], policy, quick)["label"], tree))
            if not base:
                continue
            b_fast, b_med = _fast_med(base)
            for n in sizes:
                runs = results[(fleet_config(n, policy, quick)["label"], tree)]
                fast, med = _fast_med(runs)
                best = min(runs, key=lambda r: r["us_per_request"])
                over_floor = (fast / b_fast) / (floor[n][0] / floor[sizes[0]][0])
                print(f"{policy:<18} {tree:<8} {n:>8} {best['requests']:>9} {fast:>8.2f} {fast / b_fast:>6.2f} "
                      f"{med / b_med:>6.2f} {over_floor:>6.2f} {best['build_cpu_s']:>7.2f} "
                      f"{100 * best['gc_share']:>5.1f} {max(r['peak_mb'] for r in runs):>8.1f} "
                      f"{max(r['run_mb'] for r in runs):>7.1f} {best['held']:>8} {best['unfinished']:>7}")


# ---- profile ------------------------------------------------------------------------------------


def profile(label: str, quick: bool, top: int) -> None:
    """cProfile one configuration in this process: top functions by own time, and own time by source file."""
    import cProfile
    import pstats

    config = config_of(label, quick)
    from sim import parse_scenario_text, run

    scenario = parse_scenario_text(config["yaml"])
    prof = cProfile.Profile()
    prof.enable()
    result = run(scenario)
    prof.disable()
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())
    n = result.summary["accounting"]["arrivals"]
    print(f"{label}: {n} requests, {total:.2f} s profiled ({1e6 * total / n:.1f} us per request under cProfile)")
    by_file: dict[str, float] = {}
    calls = 0
    for (file, _, _), (_, ncalls, tottime, _, _) in stats.stats.items():
        key = file.split("site-packages/")[-1] if "site-packages" in file else file.split(os.sep + "sim" + os.sep)[-1]
        by_file[key] = by_file.get(key, 0.0) + tottime
        calls += ncalls
    print(f"function calls per request: {calls / n:.1f}")
    print("own time by file:")
    for key, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * t / total:5.1f} %  {key}")
    print("top functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer customers and rounds: a few minutes")
    ap.add_argument("--only", choices=("stack", "fleet"), help="one table only")
    ap.add_argument("--rounds", type=int, help="rounds per table (default: stack 5, fleet 3; quick: 3 and 1)")
    ap.add_argument("--trees", default="now=.", help="NAME=PATH,... source trees to compare, alternated")
    ap.add_argument("--policies", help="comma-separated balancing policies for the fleet table (default: all)")
    ap.add_argument("--sizes", help="comma-separated replica counts for the fleet table (default: 8,64,512,2048)")
    ap.add_argument("--profile", metavar="CONFIG",
                    help="cProfile one config (e.g. trace-healthy, fleet-power_of_two-512)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(json.loads(args.one))))
        return
    if args.profile:
        profile(args.profile, args.quick, args.top)
        return
    trees = dict(item.split("=", 1) for item in args.trees.split(","))
    policies = tuple(args.policies.split(",")) if args.policies else POLICIES
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else SIZES
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, trees: {trees}")
    if args.only in (None, "stack"):
        stack_table(trees, args.rounds or (3 if args.quick else 5), args.quick)
    if args.only in (None, "fleet"):
        fleet_table(trees, args.rounds or (1 if args.quick else 3), args.quick, policies, sizes)


if __name__ == "__main__":
    main()
