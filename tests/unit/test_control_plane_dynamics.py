"""The control plane's dynamics against a fluid queue model worked by hand.

A fluid FIFO queue served at mu ops/s, fed at lambda: the queue grows at lambda - mu; a call waits
queue / mu; calls time out (the control plane serves nothing useful) once the wait passes the call
timeout T, i.e. once the queue holds mu x T; after the load falls to lambda0 < mu it drains at
mu - lambda0. With retries every failed call comes back after its backoff, so under total failure the
load is up to max_attempts x the fresh load: it stays overloaded after the trigger (metastable) when
that exceeds mu. The component advances in steps of STEP_S, so times are checked to a step or two.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim import parse_scenario, run
from sim.components.control_plane import STEP_S, ControlPlane
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.spec.control_plane import ControlPlaneSpec
from sim.spec.loader import ScenarioError

MU, BASE = 1000.0, 100.0
NODES = 10
FRESH = BASE + 5 * NODES  # 150 ops/s: the steady load of 10 nodes at 5 ops/s each, plus the base


def _cause(detail: str) -> Cause:
    return Cause("fault", "f", "test", detail)


def _run(added_ops_s: float, on_s: float, off_s: float | None, until_s: float, nodes=lambda: NODES,
         actions=(), **spec) -> tuple[World, ControlPlane]:
    world = World(1, until_s, 10.0, 0.0)
    cp = ControlPlane(world, "cp", ControlPlaneSpec(capacity_ops_s=MU, base_ops_s=BASE, ops_per_node_s=5, **spec),
                      nodes)
    world.call_later(on_s, lambda: cp.set_load("f", _cause("on"), added_ops_s=added_ops_s))
    if off_s is not None:
        world.call_later(off_s, lambda: cp.set_load("f", _cause("off")))
    for at_s, fn in actions:
        world.call_later(at_s, fn, cp)
    world.env.run(until=until_s)
    return world, cp


def _states(world: World) -> list[tuple[float, str]]:
    return [(t.t_s, t.state) for t in world.timeline.transitions if t.component == "cp" and t.cause.kind != "fault"]


def _first(world: World, state: str, after_s: float = 0.0) -> float | None:
    return next((t for t, s in _states(world) if s == state and t > after_s), None)


def test_load_below_capacity_never_queues():
    world, cp = _run(MU - FRESH - 1, 100, None, 2000)
    assert [s for _, s in _states(world)] == ["healthy"]
    assert cp.queue_ops == 0 and cp.failed_ops == 0 and cp.serving


def test_load_above_capacity_degrades_then_overloads_when_the_fluid_queue_says():
    added = 1500.0  # 1650 ops/s on 1000: the queue grows at 650 ops/s from the first step after 100 s
    world, cp = _run(added, 100, None, 600, retry={"max_attempts": 1})
    growth = FRESH + added - MU
    degraded, over = _first(world, "degraded"), _first(world, "overloaded")
    assert 100 + MU * 1.0 / growth < degraded <= 100 + MU * 1.0 / growth + 2 * STEP_S  # 1 s of work queued
    assert 100 + MU * 60.0 / growth < over <= 100 + MU * 60.0 / growth + 2 * STEP_S  # 60 s: calls time out
    assert not cp.serving and cp.state == "overloaded"
    # the queue is bounded (300 s of work); beyond it calls are rejected
    assert cp.queue_ops == pytest.approx(MU * 300.0, rel=0.01)


def test_removing_the_load_recovers_within_the_fluid_drain_time():
    added, off = 1500.0, 400.0
    world, cp = _run(added, 100, off, 1500, retry={"max_attempts": 1})
    queued = (FRESH + added - MU) * (off - 100 - STEP_S)  # below the 300 s bound
    back = off + (queued - MU * 60.0) / (MU - FRESH)  # wait below the 60 s timeout: serving again
    healthy = off + (queued - MU * 1.0) / (MU - FRESH)  # below 1 s: healthy
    serving_again = _first(world, "degraded", after_s=off)
    assert back - 2 * STEP_S <= serving_again <= back + 2 * STEP_S
    assert healthy - 2 * STEP_S <= _first(world, "healthy", after_s=off) <= healthy + 2 * STEP_S
    assert cp.queue_ops == 0 and cp.serving


def test_retries_amplify_the_load_and_can_keep_it_overloaded_after_the_trigger():
    # fresh 150 ops/s after the trigger: 20 attempts make up to 3000 > 1000 (stuck), 3 make 450 (recovers)
    stuck_world, stuck = _run(1500, 100, 400, 2500, retry={"max_attempts": 20, "backoff_cap_s": 5})
    assert _first(stuck_world, "degraded", after_s=400) is None and stuck.state == "overloaded"
    assert stuck.retry_ops_s > MU - FRESH  # the retries alone exceed the spare capacity
    world, cp = _run(1500, 100, 400, 2500, retry={"max_attempts": 3, "backoff_cap_s": 5})
    once = _run(1500, 100, 400, 2500, retry={"max_attempts": 1})[0]
    assert cp.state == "healthy"
    # the retries' backlog drains more slowly than the queue alone
    assert _first(world, "healthy", after_s=400) > _first(once, "healthy", after_s=400)


def test_a_queue_shorter_than_the_timeout_sheds_the_excess_and_keeps_serving():
    world, cp = _run(1500, 100, None, 1000, queue_limit_s=10, retry={"max_attempts": 1})
    assert "overloaded" not in [s for _, s in _states(world)] and cp.serving and cp.state == "degraded"
    assert cp.failed_share == pytest.approx(1 - MU / (FRESH + 1500), abs=0.01)  # the excess is rejected


def test_a_rollback_that_needs_the_control_plane_waits_for_added_capacity():
    ran: list[float] = []

    def rollback(cp: ControlPlane) -> None:  # the fix itself goes through the control plane
        cp.call_when_serving(lambda: (ran.append(cp.world.now), cp.set_load("f", _cause("rolled back"))))

    def add_capacity(cp: ControlPlane) -> None:
        cp.set_capacity("ops", _cause("API servers added"), added_ops_s=2000)

    locked_out, _ = _run(1500, 100, None, 2000, actions=[(300, rollback)], retry={"max_attempts": 1})
    assert not ran and _first(locked_out, "degraded", after_s=300) is None  # locked out: never recovers
    world, cp = _run(1500, 100, None, 2000, actions=[(300, rollback), (600, add_capacity)], retry={"max_attempts": 1})
    assert len(ran) == 1 and ran[0] > 600 and ran[0] == _first(world, "degraded", after_s=300)
    assert cp.state == "healthy"


def test_the_load_follows_the_fleet():
    nodes = [NODES]
    world, cp = _run(0, 100, None, 400, nodes=lambda: nodes[0],
                     actions=[(200, lambda cp: nodes.__setitem__(0, 200))], retry={"max_attempts": 1})
    assert _first(world, "degraded") is None or _first(world, "degraded") > 200
    assert cp.load_ops_s() == BASE + 5 * 200  # 1100 > 1000: 200 nodes overload it
    assert cp.state in ("degraded", "overloaded")
    cp.set_load("g", _cause("quadratic"), per_node_sq_ops_s=0.01)
    assert cp.load_ops_s() == pytest.approx(BASE + 5 * 200 + 0.01 * 200 * 200)


# --- clusters: topology.control_planes and in-cluster DNS ---------------------------------------------
CLUSTERS = {
    "topology": {
        "zones": ["a", "b"],
        "load_balancers": [{"name": "lb-a", "zone": "a", "upstream": ["pa"]},
                           {"name": "lb-b", "zone": "b", "upstream": ["pb"]}],
        "pools": [{"name": "pa", "replicas": 3, "zones": ["a"], "server": {"mode": "plain", "model_load_s": 1}},
                  {"name": "pb", "replicas": 3, "zones": ["b"], "server": {"mode": "plain", "model_load_s": 1}}],
        "control_planes": [
            {"name": "cp-a", "pools": ["pa"], "capacity_ops_s": 100, "base_ops_s": 10, "ops_per_node_s": 5,
             "call_timeout_s": 2, "queue_limit_s": 10, "record_ttl_s": 5, "retry": {"max_attempts": 1}},
            {"name": "cp-b", "pools": ["pb"], "capacity_ops_s": 100, "base_ops_s": 10, "ops_per_node_s": 5}],
    },
    "workload": {"clients": [{"name": "c", "target": ["lb-a", "lb-b"], "lb_selection": "by_user", "users": 200,
                              "retry": {"max_attempts": 1}, "arrival": {"kind": "poisson", "rate_rps": 4}}]},
    "faults": [{"id": "oom", "kind": "control_plane_capacity_loss", "target": {"name": "cp-a"}, "at_s": 20,
                "duration_s": 30, "capacity_percent": 90}],
    "run": {"duration_s": 120, "seed": 3},
}


def _clusters(**changes):
    data = copy.deepcopy(CLUSTERS)
    for path, value in changes.items():
        *head, last = path.split(".")
        node = data
        for key in head:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return data


def test_a_cluster_control_plane_failure_reaches_only_its_own_replicas_one_record_ttl_later():
    res = run(parse_scenario(_clusters()), record_requests=True)
    over = next(t for t in res.transitions if t.component == "cp-a" and t.state == "overloaded")
    # 25 ops/s on the 10 left: the queue holds 2 s of work (20 ops) after 20 / 15 s
    assert 20 + 20 / 15 < over.t_s <= 20 + 20 / 15 + 2
    assert not [t for t in res.transitions if t.component == "cp-b" and t.state != "healthy"]
    r = res.requests
    bad = r["outcome"] == "server_error"
    assert set(np.char.rpartition(r["server"][bad].astype(str), "-")[:, 0]) == {"pa"}
    assert r["end_s"][bad].min() >= over.t_s + 5  # records expire one TTL after it stopped serving
    # capacity back at 50: the full queue (10 s of the 10 ops/s left: 100 ops) is 1 s of work for 100 ops/s,
    # under the 2 s timeout: it serves at once; records refresh the moment it serves, the replicas answer again
    back = next(t.t_s for t in res.transitions if t.component == "cp-a" and t.t_s >= 50
                and t.cause.kind == "mechanism")
    assert 50 <= back <= 51 and r["end_s"][bad].max() <= back
    assert np.all(r["outcome"][r["arrival_s"] > back] == "success")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"topology.control_planes.0.pools": ["px"]}, "topology: control_planes[0].pools[0]: no pool named 'px'"),
    ({"topology.control_planes.1.pools": ["pa"]},
     "topology: control_planes[1].pools[0]: 'pa' already runs under 'cp-a'"),
    ({"topology.control_planes.1.name": "pa"},
     "topology.control_planes[1].name: name 'pa' is already used by topology.pools[0].name (pool)"),
])
def test_cluster_control_planes_are_checked(changes, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_clusters(**changes))
    assert [str(p) for p in err.value.problems] == [expected]
