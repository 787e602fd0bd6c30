"""The World's event loop (``Clock``) runs the same events in the same order as simpy's own loop.

``Clock.run`` calls timers directly instead of going through simpy's ``step``; these tests run the same
models on a ``Clock`` and on a plain ``simpy.Environment`` and compare everything they record: mixed
simpy processes, timeouts, interrupts, conditions and timers due at the same instants, stopped and resumed
at ``until`` times and events, and whole scenarios (every field of the run's result). No timing: the cost
is counted in scheduled events.
"""

from __future__ import annotations

import pytest
import simpy

from sim.assembly import build_stack, topology_graph
from sim.engine.world import Clock, Timer, World
from sim.faults import schedule_faults
from sim.observe.result import RunResult, collect
from sim.response import start_response
from sim.spec import load_scenario, parse_scenario_text


def _mixed_model(env: simpy.Environment, log: list) -> None:
    """Processes, timeouts, an interrupt, an all_of, shared events and timers, many due at the same instants."""
    world = World(1, 100.0, 10.0, 0.0, clock=env)
    gate = env.event()

    def worker(name: str, period_s: float, n: int):
        for i in range(n):
            try:
                yield env.timeout(period_s, value=i)
            except simpy.Interrupt as stop:
                log.append((env.now, name, "interrupted", stop.cause))
                return
            log.append((env.now, name, i))
            world.call_later(0.0, lambda name=name, i=i: log.append((env.now, "timer-after", name, i)))
        log.append((env.now, name, "done"))

    def waiter():
        value = yield gate
        log.append((env.now, "waiter", value))
        both = yield env.all_of([env.timeout(1.0, "a"), env.timeout(1.0, "b")])
        log.append((env.now, "waiter", sorted(both.values())))

    a = env.process(worker("a", 1.0, 6))
    env.process(worker("b", 0.5, 12))
    victim = env.process(worker("c", 2.0, 10))
    env.process(waiter())

    def tick(k: int) -> None:
        log.append((env.now, "tick", k))
        if k == 3:
            gate.succeed("opened")
        if k == 4:
            victim.interrupt("stop")
        if k < 8:
            world.call_later(1.0, tick, k + 1)

    world.call_later(1.0, tick, 1)
    cancelled = world.call_later(2.0, log.append, "never")
    world.call_later(1.5, cancelled.cancel)
    for t in (0.5, 1.0, 1.0, 2.0, 3.0):
        world.call_later(t, log.append, (t, "plain timer"))
    for until in (1.0, 2.5, 4.0):
        env.run(until=until)
        log.append(("stopped", env.now, len(env._queue)))
    env.run(until=a)
    log.append(("a ended", env.now))
    env.run(until=9.0)
    env.run()
    log.append(("empty", env.now))


def test_mixed_processes_and_timers_run_in_simpys_order():
    ours, simpys = [], []
    _mixed_model(Clock(), ours)
    _mixed_model(simpy.Environment(), simpys)
    assert ours == simpys
    kinds = {entry[1] if isinstance(entry[0], float) else entry[0] for entry in ours if isinstance(entry, tuple)}
    assert {"tick", "waiter", "timer-after", "plain timer", "stopped", "a ended", "empty"} <= kinds, kinds
    assert (4.0, "c", "interrupted", "stop") in ours and "never" not in ours


def test_until_errors_are_simpys():
    clock = Clock()
    clock.run(until=5)
    with pytest.raises(ValueError, match="must be greater than the current simulation time"):
        clock.run(until=5)
    never = clock.event()
    with pytest.raises(RuntimeError, match="No scheduled events left"):
        clock.run(until=never)


def test_a_failed_event_crashes_the_run_as_in_simpy():
    for env in (Clock(), simpy.Environment()):
        env.event().fail(KeyError("boom"))
        with pytest.raises(KeyError):
            env.run()


def test_a_timer_runs_on_a_plain_simpy_loop_too():
    env = simpy.Environment()
    world = World(1, 10.0, 1.0, 0.0, clock=env)
    seen = []
    timer = world.call_later(2.0, seen.append, "fired")
    assert isinstance(timer, Timer) and timer.pending
    env.run()
    assert seen == ["fired"] and env.now == 2.0 and not timer.pending


def _run(scenario, clock: simpy.Environment) -> tuple[RunResult, int]:
    """``sim.experiment.run.run_with_stack`` on a given loop; also the number of events scheduled."""
    spec = scenario.run
    world = World(spec.seed, spec.duration_s, spec.bucket_s, spec.warmup_s, clock=clock)
    graph = topology_graph(scenario)
    stack = build_stack(scenario, world)
    schedule_faults(scenario, stack, world)
    responders = start_response(scenario, world, stack, spec.seed)
    if responders is not None:
        stack.mechanisms["response"] = responders
    clock.run(until=spec.duration_s / 3)
    clock.run(until=spec.duration_s)
    return collect(scenario, spec.seed, world, stack, graph), next(clock._eid)


@pytest.mark.parametrize("path", ["builtin:demo", "scenarios/faults/crash.yaml",
                                  "scenarios/incidents/azure-2024-07-13-cleanup-job.yaml"])
def test_a_scenario_gives_the_same_result_on_simpys_loop(path):
    scenario = load_scenario(path)
    if scenario.run.duration_s > 900:
        scenario = scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": 900.0})})
    ours, n_ours = _run(scenario, Clock())
    simpys, n_simpys = _run(scenario, simpy.Environment())
    assert ours == simpys
    assert n_ours == n_simpys  # the same events were scheduled, not only the same results


MM4 = """
name: mm4
topology:
  load_balancers: [{name: lb, upstream: [q], health_check: {enabled: false}}]
  pools: [{name: q, replicas: 1, server: {mode: plain, concurrency: 4,
           service_time_s: {kind: exponential, mean: 1.0}, queue_capacity: 100000}}]
workload:
  clients: [{name: c, target: [lb], arrival: {kind: poisson, rate_rps: 3.6}, timeout_s: null,
             retry: {max_attempts: 1}}]
run: {duration_s: 2000, warmup_s: 0, seed: 1, bucket_s: 100}
"""


def test_a_plain_queue_schedules_two_events_per_customer():
    """An arrival (which schedules the next) and a service completion: the floor any simulator pays."""
    result, scheduled = _run(parse_scenario_text(MM4), Clock())
    arrivals = result.summary["accounting"]["arrivals"]
    assert arrivals > 6000
    assert scheduled <= 2 * arrivals + 10, scheduled / arrivals
