"""Run one scenario with one seed: build, schedule faults, simulate, collect."""

from __future__ import annotations

import sys
import time

import numpy as np

from sim.assembly import Stack, build_stack, topology_graph
from sim.engine.world import World
from sim.experiment.gc_tuning import building_gc, tuned_gc
from sim.faults import schedule_faults
from sim.observe.result import RunResult, collect
from sim.response import start_response
from sim.spec.scenario import Scenario


def run(scenario: Scenario, seed: int | None = None, *, record_requests: bool = False,
        progress: bool = False) -> RunResult:
    """Simulate ``scenario`` (with ``seed``, default the scenario's) and return its results.

    ``record_requests`` keeps one row per request (memory grows with requests; off by default).
    ``progress`` draws a progress bar on stderr when it is a terminal and the run lasts over 2 s.
    """
    return run_with_stack(scenario, seed, record_requests=record_requests, progress=progress)[0]


def run_with_stack(scenario: Scenario, seed: int | None = None, *, record_requests: bool = False,
                   progress: bool = False) -> tuple[RunResult, Stack]:
    """As ``run``, and also the live stack as the run left it, for tests and notebooks that inspect a
    component's state after the run (the stack holds simulation objects: it does not pickle)."""
    seed = scenario.run.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    spec = scenario.run
    world = World(seed, spec.duration_s, spec.bucket_s, spec.warmup_s, record_requests)
    with building_gc():
        graph = topology_graph(scenario)
        stack = build_stack(scenario, world)
        schedule_faults(scenario, stack, world)
        responders = start_response(scenario, world, stack, seed)
    if responders is not None:
        stack.mechanisms["response"] = responders
    with tuned_gc():
        if progress and sys.stderr.isatty():
            _run_with_progress(world, spec.duration_s)
        else:
            world.env.run(until=spec.duration_s)
    return collect(scenario, seed, world, stack, graph), stack


def _run_with_progress(world: World, duration_s: float, steps: int = 50) -> None:
    start = time.monotonic()
    shown = False
    for i in range(1, steps + 1):
        world.env.run(until=duration_s * i / steps)
        elapsed = time.monotonic() - start
        if elapsed > 2.0 or shown:
            shown = True
            bar = "#" * i + "." * (steps - i)
            sys.stderr.write(f"\r[{bar}] {100 * i // steps:3d}%  {world.now:,.0f}/{duration_s:,.0f} s simulated")
            sys.stderr.flush()
    if shown:
        sys.stderr.write("\n")
