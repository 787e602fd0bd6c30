"""Liveness probes (kubelet restarts), readiness with several ejecting mechanisms, rollout and maintenance."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.assembly import build_stack
from sim.components.effects import Effects
from sim.engine.world import World
from sim.resilience.controllers.liveness import LivenessProbe
from sim.resilience.controllers.rollout import Rollout
from sim.spec.loader import parse_scenario
from sim.spec.policies import LivenessSpec, RolloutSpec


def stack_of(policies: dict | None = None, replicas: int = 3):
    scenario = parse_scenario({
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["p"]}],
                     "pools": [{"name": "p", "replicas": replicas, "server": {"mode": "plain"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 0}}]},
        "policies": policies or {}, "run": {"duration_s": 300},
    })
    world = World(1, 300.0, 1.0, 0.0)
    return world, build_stack(scenario, world)


def test_liveness_restarts_slow_and_hung_replicas_but_not_healthy_ones():
    world, stack = stack_of({"liveness": {"enabled": True, "restart_delay_s": 5}})
    probe = stack.mechanisms["liveness:p"]
    stack.by_name["p-0"].effects.set("test", "slow_factor", 30.0)  # 1.5 s health endpoint
    stack.by_name["p-1"].effects.set("test", "hang", 1.0)
    world.env.run(until=probe.phase_s + 25.0)
    assert stack.by_name["p-0"].state == "down" and stack.by_name["p-1"].state == "down"
    assert stack.by_name["p-2"].state == "healthy" and probe.restarts == 2
    world.env.run(until=probe.phase_s + 31.0)
    assert stack.by_name["p-0"].state == "healthy", "restarted after the delay (no model load in plain mode)"


def test_liveness_tolerates_a_replica_slower_than_normal_within_the_timeout():
    probe = LivenessProbe(LivenessSpec(enabled=True), np.random.default_rng(1))
    server = SimpleNamespace(hung=False, probe_latency_s=lambda: 0.9)
    assert probe.alive(server)
    server.probe_latency_s = lambda: 1.1
    assert not probe.alive(server)


def test_readiness_does_not_undo_an_outlier_ejection():
    world, stack = stack_of({"health_check": {"period_s": 1.0}})
    lb = stack.by_name["lb"]
    server = stack.by_name["p-1"]
    lb.eject(server, "test", mechanism="outlier_detection")
    world.env.run(until=5.0)
    assert not lb.in_rotation(server), "probes pass, but outlier detection still holds it out"
    lb.restore(server, "test", mechanism="outlier_detection")
    assert lb.in_rotation(server)


def test_rollout_advances_when_healthy_and_rolls_back_when_not():
    servers = [SimpleNamespace(name=f"p-{i}", state="healthy", effects=Effects(("error_share", "slow_factor")),
                               completed=0, failed=0, server_errors=0) for i in range(10)]
    world = SimpleNamespace(now=0.0, calls=[], timeline=SimpleNamespace(current={}),
                            set_state=lambda *a, **k: None)
    world.call_later = lambda d, fn, *a: world.calls.append((d, fn, a))
    good = Rollout(RolloutSpec(at_s=10, steps_percent=[10, 50, 100]), "p", servers, 0.01)
    good.start(world)
    _, fn, args = world.calls.pop()
    fn(*args)
    assert [s.name for s in good.updated] == ["p-0"]
    for s in good.updated:
        s.completed += 100
    _, fn, args = world.calls.pop()
    fn(*args)
    assert len(good.updated) == 5 and not good.rolled_back
    bad = Rollout(RolloutSpec(at_s=0, error_probability=0.5), "p", servers, 0.01)
    bad.start(world)
    _, fn, args = world.calls.pop()
    fn(*args)
    servers[0].failed += 10
    servers[0].server_errors += 10
    servers[0].completed += 10
    _, fn, args = world.calls.pop()
    fn(*args)
    assert bad.rolled_back and bad.rollback_error_rate == 0.5
    assert servers[0].effects["error_share"] == 0.0, "back to the old version's value"
