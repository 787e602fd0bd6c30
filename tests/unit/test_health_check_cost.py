"""Readiness probes cost what changes: a round probes only replicas whose outcome can have changed."""

from __future__ import annotations

import numpy as np
import pytest

from sim.assembly import build_stack
from sim.assembly import policies as assembly_policies
from sim.components.network import Loss
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.resilience.policies.readiness import ActiveHealthCheck
from sim.spec.loader import parse_scenario

REPLICAS = 2048
PERIOD_S = 1.0


def fleet(replicas: int, health: dict | None = None):
    scenario = parse_scenario({
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["p"]}],
                     "pools": [{"name": "p", "replicas": replicas, "server": {"mode": "plain"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 0}}]},
        "policies": {"health_check": {"period_s": PERIOD_S, **(health or {})}}, "run": {"duration_s": 600},
    })
    world = World(1, 600.0, 1.0, 0.0)
    stack = build_stack(scenario, world)
    return world, stack, stack.by_name["lb"].health


@pytest.fixture(scope="module")
def big():
    world, stack, check = fleet(REPLICAS)
    world.env.run(until=check.phase_s + 0.5)  # the first round probes everyone once
    return world, stack, check


def test_a_quiet_round_probes_nobody_whatever_the_fleet(big):
    world, _, check = big
    assert check.rounds == 1 and check.probes == REPLICAS
    before = check.probes
    world.env.run(until=world.env.now + 10 * PERIOD_S)
    assert check.rounds == 11
    assert check.probes == before, "2048 healthy replicas, nothing changed: no probe work"


def test_a_round_probes_only_the_replicas_that_changed(big):
    world, stack, check = big
    lb = stack.by_name["lb"]
    before = check.probes
    victims = [stack.by_name[f"p-{i}"] for i in (5, 700, 2000)]
    for server in victims:
        server.crash(Cause("fault", "t", "crash", "test"), None)
    threshold = check.spec.failure_threshold
    world.env.run(until=world.env.now + (threshold + 5) * PERIOD_S)
    assert all(not lb.in_rotation(s) for s in victims), "ejected after failure_threshold failed probes"
    assert sum(lb.in_rotation(s) for s in lb.servers) == REPLICAS - 3
    assert check.probes - before == 3 * threshold, "each victim probed until it is out, nobody else"


def test_counts_of_unprobed_rounds_match_probing_every_round():
    """A replica that stays failing while out of rotation keeps its streak: when it comes back up it
    needs success_threshold passing probes, and the eject message counts every failed round."""
    world, stack, check = fleet(4, {"success_threshold": 3})
    lb, server = stack.by_name["lb"], stack.by_name["p-1"]
    world.env.run(until=check.phase_s + 0.5)
    server.crash(Cause("fault", "t", "crash", "test"), None)
    world.env.run(until=world.env.now + 20 * PERIOD_S)
    assert not lb.in_rotation(server)
    assert check._streaks["p-1"][0] is False
    server.start("test")  # plain mode: healthy at once
    world.env.run(until=world.env.now + 2 * PERIOD_S)
    assert not lb.in_rotation(server), "two passing probes are not enough"
    world.env.run(until=world.env.now + PERIOD_S)
    assert lb.in_rotation(server)


def test_slowness_and_network_changes_are_seen_without_polling():
    world, stack, check = fleet(8)
    lb, server = stack.by_name["lb"], stack.by_name["p-3"]
    world.env.run(until=check.phase_s + 0.5)
    server.effects.set("t", "slow_factor", 30.0)  # health endpoint 1.5 s > 1 s timeout
    world.env.run(until=world.env.now + 5 * PERIOD_S)
    assert not lb.in_rotation(server)
    server.effects.clear("t", "slow_factor")
    world.env.run(until=world.env.now + 5 * PERIOD_S)
    assert lb.in_rotation(server)
    before = check.probes
    world.network.impair("f", [server.zone], added_s=0.6)  # round trip 1.2 s: every probe times out
    world.env.run(until=world.env.now + 5 * PERIOD_S)
    assert not any(lb.in_rotation(s) for s in lb.servers if s.zone == server.zone)
    assert check.probes - before >= 8, "a network change re-probes everyone"


def test_scaled_up_replica_is_probed_into_rotation():
    world, stack, check = fleet(2)
    lb = stack.by_name["lb"]
    world.env.run(until=check.phase_s + 0.5)
    new = stack.by_name["p-1"]
    lb.remove_server(new, "test")
    before = check.probes
    world.env.run(until=world.env.now + 3 * PERIOD_S)
    assert check.probes == before, "a removed replica is not probed"
    lb.add_server(new, "test")
    assert not lb.in_rotation(new)
    world.env.run(until=world.env.now + 2 * PERIOD_S)
    assert lb.in_rotation(new)


class ProbeEveryone(ActiveHealthCheck):
    """The reference: every replica probed every round (what the readiness check did before)."""

    @staticmethod
    def _unannounced(world, balancer, server) -> bool:
        return True


def perturbed_run(check_class, monkeypatch) -> list:
    """16 replicas in two zones, 400 probe rounds, and a seeded stream of everything a probe reads:
    crashes and restarts, slowness, hangs, drains, added latency, packet loss, partitions."""
    monkeypatch.setattr(assembly_policies, "ActiveHealthCheck", check_class)
    scenario = parse_scenario({
        "topology": {"zones": ["a", "b"], "network": {"cross_zone_latency_ms": 100},
                     "load_balancers": [{"name": "lb", "upstream": ["p"]}],
                     "pools": [{"name": "p", "replicas": 16, "zones": ["a", "b"], "server": {"mode": "plain"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 0}}]},
        "policies": {"health_check": {"period_s": PERIOD_S, "timeout_s": 0.5}}, "run": {"duration_s": 400},
    })
    world = World(7, 400.0, 1.0, 0.0)
    stack = build_stack(scenario, world)
    servers = [stack.by_name[f"p-{i}"] for i in range(16)]
    rng = np.random.default_rng(11)
    world.network.use_loss_stream(np.random.default_rng(12))
    cause = Cause("fault", "t", "test", "test")

    def poke() -> None:
        server = servers[int(rng.integers(16))]
        what = int(rng.integers(8))
        if what == 0:
            server.crash(cause, float(rng.uniform(0, 20)))
        elif what == 1:
            server.effects.set("t", "slow_factor", float(rng.choice([1.0, 3.0, 12.0])))
        elif what == 2:
            server.effects.set("t", "hang", float(rng.integers(2)))
        elif what == 3 and server.serving:
            server.drain(cause, lambda killed, s=server: s.crash(cause, 5.0), grace_s=3.0)
        elif what == 4:
            world.network.impair("lat", ["b"], added_s=float(rng.choice([0.0, 0.2])))
        elif what == 5:
            world.network.impair("loss", ["a"], loss=Loss(float(rng.choice([0.0, 0.3])), 0.2, 3, 0.9))
        elif what == 6:
            world.network.partition("split", "lb", server.name, components=True)
        else:
            world.network.clear(str(rng.choice(["lat", "loss", "split"])))
        world.call_later(float(rng.exponential(4.0)), poke)

    world.call_later(3.0, poke)
    world.env.run(until=400.0)
    return [(t.t_s, t.component, t.state, t.cause.text()) for t in world.timeline.transitions]


def test_same_transitions_as_probing_everyone_every_round(monkeypatch):
    lean = perturbed_run(ActiveHealthCheck, monkeypatch)
    reference = perturbed_run(ProbeEveryone, monkeypatch)
    assert sum(1 for _, c, _, _ in reference if c == "lb") > 20, "the check ejected and restored replicas"
    assert lean == reference
