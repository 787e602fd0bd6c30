"""Autoscaler: the HPA formula, the metric contract, and scaling decisions on a fake pool."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.components.inference_server import LLMServer
from sim.components.plain_server import PlainServer
from sim.engine.distributions import Exponential, Sampler
from sim.engine.world import World
from sim.resilience.controllers.autoscaler import SCALING_METRICS, HorizontalPodAutoscaler, hpa_desired
from sim.spec.policies import AutoscalingSpec
from sim.spec.topology import LLMServerSpec
from tests.helpers import FakeWorld


def test_hpa_formula_and_tolerance():
    assert hpa_desired(4, 0.9, 0.5, 0.1) == 8  # ceil(4 x 0.9 / 0.5) = ceil(7.2)
    assert hpa_desired(4, 0.52, 0.5, 0.1) is None  # within 10 %
    assert hpa_desired(4, 0.1, 0.5, 0.1) == 1


def test_defaults_are_kubernetes():
    spec = AutoscalingSpec()
    assert (spec.sync_period_s, spec.tolerance, spec.scale_down_stabilization_s) == (15, 0.1, 300)
    assert not spec.enabled


@pytest.mark.parametrize("metric", SCALING_METRICS.names())
def test_metric_contract(metric):
    """Every metric reads plain and LLM replicas, is 0 when idle and non-negative."""
    world = World(1, 10.0, 1.0, 0.0)
    plain = PlainServer(world, "p-0", "p", "z", 10, 0.0, 2, Sampler(Exponential(1.0), np.random.default_rng(1)))
    llm = LLMServer(world, "g-0", "g", "z", LLMServerSpec(mode="llm"))
    fn = SCALING_METRICS.get(metric)
    for server in (plain, llm):
        value = fn(server)
        assert isinstance(value, float) and value == 0.0



def replica(name: str, queue: int, world: FakeWorld | None = None) -> SimpleNamespace:
    r = SimpleNamespace(name=name, serving=True, state="healthy", outstanding=0, model_load_s=0.0, queue=queue,
                        world=world, zone=None)
    r.queue_length = lambda: r.queue
    r.start = lambda reason="": setattr(r, "state", "starting")
    r.crash = lambda cause, restart_after_s: setattr(r, "state", "down")
    r.held_down = set()

    def hold(key, cause):
        r.held_down.add(key)
        if cause is not None:
            r.crash(cause, None)

    def drain(cause, on_drained, grace_s=None, first_check_s=1.0):
        """As a replica's lifecycle drains: draining until no work is left (or the grace period is over)."""
        r.state = "draining"
        since_s = r.world.now

        def check():
            busy = r.outstanding > 0 and r.state == "draining"
            if busy and (grace_s is None or r.world.now - since_s < grace_s):
                r.world.call_later(1.0, check)
                return
            on_drained(busy)

        r.world.call_later(first_check_s, check)

    r.hold, r.drain = hold, drain
    return r


def test_scale_up_is_capped_by_max_replicas_and_the_gpu_quota():
    world = FakeWorld()
    replicas = [replica("p-0", 50), replica("p-1", 50)]
    spec = AutoscalingSpec(enabled=True, metric="queue_length", target=5, max_replicas=10, gpu_quota=6,
                           gpus_per_replica=2, provisioning_delay_s=30)
    hpa = HorizontalPodAutoscaler(spec, "p", replicas, 2, lambda i: replica(f"p-{i}", 0), [])
    hpa.start(world)
    world.advance(15.0)
    assert hpa.provisioning == 1 and hpa.max_replicas == 3 and hpa.quota_capped == 1
    world.advance(45.0)
    assert [r.name for r in replicas] == ["p-0", "p-1", "p-2"] and hpa.provisioning == 0


def test_scale_down_waits_for_the_stabilization_window():
    world = FakeWorld()
    replicas = [replica(f"p-{i}", 0, world) for i in range(4)]
    spec = AutoscalingSpec(enabled=True, metric="queue_length", target=5, min_replicas=1,
                           scale_down_stabilization_s=60)
    replicas[0].queue = 20  # average 5: on target
    hpa = HorizontalPodAutoscaler(spec, "p", replicas, 4, lambda i: replica(f"p-{i}", 0), [])
    hpa.start(world)
    world.advance(15.0)
    replicas[0].queue = 0
    world.advance(70.0)
    assert len(replicas) == 4, "the on-target recommendation of 15 s is still in the window"
    world.advance(95.0)
    assert len(replicas) < 4 and hpa.events[-1][1] == "down"


def test_scale_down_never_goes_below_min_replicas_while_victims_drain():
    """Draining replicas are leaving: they do not count, so later syncs do not pick more victims."""
    world = FakeWorld()
    replicas = [replica(f"p-{i}", 0, world) for i in range(6)]
    for r in replicas:
        r.outstanding = 1  # long requests: a draining replica stays until its work is done
    spec = AutoscalingSpec(enabled=True, metric="queue_length", target=5, min_replicas=2,
                           scale_down_stabilization_s=0)
    hpa = HorizontalPodAutoscaler(spec, "p", replicas, 6, lambda i: replica(f"p-{i}", 0), [])
    hpa.start(world)
    world.advance(15.0)
    assert sum(r.state != "draining" for r in replicas) == 2 and hpa.current() == 2
    world.advance(120.0)  # seven more syncs while the victims are still draining
    assert sum(r.state != "draining" for r in replicas) == 2
    assert [e[2] for e in hpa.events] == [2]
    for r in replicas:
        r.outstanding = 0
    world.advance(130.0)
    assert [r.name for r in replicas] == ["p-0", "p-1"] and all(r.state == "healthy" for r in replicas)
