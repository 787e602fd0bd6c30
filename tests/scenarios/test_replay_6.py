"""Card 6 (OpenAI 2024-11-25): a fleet-wide label change overwhelms only the largest clusters' control planes.

Shape, the published mitigation's two halves (data-plane nodes removed, control-plane nodes added:
together they end it, each alone does not, and the recovery comes sooner the fewer nodes still call,
as the fluid queue drains), counterfactual (a control-plane queue bounded below the call timeout)
and sensitivity (the change's cost moves the cluster size at which a control plane tips, as the
quadratic predicts) of scenarios/incidents/openai-2024-11-25-namespace-labels.yaml, by scenario
overrides on one seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from tests.scenarios.replays import incident, replay_fixtures

FILE = incident("openai-2024-11-25-namespace-labels.yaml")
CHANGE_S = 900.0  # 10:15 PST
SIZES = {"large-1": 30, "large-2": 26, "large-3": 24, "small-1": 12, "small-2": 10, "small-3": 8,
         "small-4": 6, "small-5": 6, "small-6": 6}
CAPACITY, BASE, PER_NODE = 500.0, 50.0, 5.0
CAPACITY_AT_S = 5400.0 + 1500.0  # the added control-plane nodes serve from 11:55
ADDED_OPS_S = 1500.0
QUEUE_LIMIT_S, CALL_TIMEOUT_S = 300.0, 60.0
LEFT = 18
"""Nodes the operators leave in each large cluster (11:30)."""


def _fresh_ops_s(nodes: int, cost: float = 1.0) -> float:
    """A cluster's fresh control-plane load with the change: base + per node x N + cost x N^2."""
    return BASE + PER_NODE * nodes + cost * nodes ** 2


def _serving_again(res: RunResult, cluster: str) -> float:
    """When the cluster's control plane serves calls again after the added capacity (inf: not in the run)."""
    return next((t.t_s for t in res.transitions if t.component == f"cp-{cluster}" and t.t_s >= CAPACITY_AT_S
                 and t.state in ("degraded", "healthy") and t.cause.kind == "mechanism"), math.inf)


def _only(kind: str) -> dict:
    """The replay with only its actions of this kind."""
    actions = [a.model_dump(exclude_unset=True) for a in load_scenario(FILE).response.actions if a.kind == kind]
    return {"response.actions": actions}


def _overloaded(res: RunResult) -> dict[str, float]:
    """Control planes that were overwhelmed, with the time they were."""
    found: dict[str, float] = {}
    for t in res.transitions:
        cluster = t.component.removeprefix("cp-")
        if (t.component.startswith("cp-") and t.state == "overloaded" and t.cause.kind == "mechanism"
                and cluster not in found):
            found[cluster] = t.t_s
    return found


def _tipping_size(cost: float) -> float:
    """Nodes above which base + per node x N + cost x N^2 exceeds the capacity."""
    return (-PER_NODE + math.sqrt(PER_NODE ** 2 + 4 * cost * (CAPACITY - BASE))) / (2 * cost)


def _peak_error(res: RunResult, client: str, window_s: float = 600.0) -> float:
    r = res.requests
    mine = r["client"] == client
    peak = 0.0
    for t0 in np.arange(CHANGE_S, res.scenario.run.duration_s - window_s + 1, window_s / 2):
        k = mine & (r["arrival_s"] >= t0) & (r["arrival_s"] < t0 + window_s)
        if k.sum():
            peak = max(peak, float(np.mean(r["outcome"][k] != "success")))
    return peak


scenario, replay = replay_fixtures(FILE, record_requests=True)


def test_only_the_three_largest_control_planes_are_overwhelmed_largest_first(replay):
    over = _overloaded(replay)
    assert set(over) == {"large-1", "large-2", "large-3"}
    assert over["large-1"] < over["large-2"] < over["large-3"] < CHANGE_S + 300  # within minutes, largest first
    assert all(SIZES[c] > _tipping_size(1.0) for c in over)  # 18.9 nodes
    assert all(SIZES[c] < _tipping_size(1.0) for c in SIZES if c not in over)


def test_errors_before_after_and_the_published_peaks(replay):
    r = replay.requests
    before = r["arrival_s"] < CHANGE_S
    assert np.all(r["outcome"][before] == "success")
    paid, enterprise = _peak_error(replay, "chatgpt-paid"), _peak_error(replay, "chatgpt-enterprise")
    assert 0.08 < paid < 0.18  # published 13 %
    assert 0.16 < enterprise < 0.30 and enterprise > paid  # published 23 %
    # only the large clusters' replicas fail, from one in-cluster DNS TTL after their control plane
    failed = r["server"][r["outcome"] != "success"]
    assert failed.size and all(s.startswith("gpu-large-") for s in failed)
    first_failure = r["end_s"][r["outcome"] != "success"].min()
    assert first_failure >= min(_overloaded(replay).values()) + 60
    # no recovery until operators add control-plane nodes (serving from 11:55), although the change stays
    locked = (r["arrival_s"] > 3000) & (r["arrival_s"] < CAPACITY_AT_S)
    assert np.mean(r["outcome"][locked & (r["client"] == "chatgpt-enterprise")] != "success") > 0.16
    back = {t.component for t in replay.transitions if t.component.startswith("cp-large-") and t.t_s >= CAPACITY_AT_S
            and t.state == "healthy" and t.cause.kind == "mechanism"}
    assert back == {"cp-large-1", "cp-large-2", "cp-large-3"}
    assert np.all(r["outcome"][r["arrival_s"] > CAPACITY_AT_S + 120] == "success")  # before 12:00


LARGE = ("large-1", "large-2", "large-3")


def test_the_operators_remove_data_plane_nodes_and_the_control_planes_load_falls(replay):
    removed = {c: {t.component for t in replay.transitions if t.component.startswith(f"gpu-{c}-")
                   and t.state == "down" and t.cause.kind == "operator"} for c in LARGE}
    assert {c: SIZES[c] - len(r) for c, r in removed.items()} == dict.fromkeys(LARGE, LEFT)
    # the control plane recounts its nodes: its fresh load falls under the capacity it had (18 < 18.9 nodes)
    assert _fresh_ops_s(LEFT) < CAPACITY < _fresh_ops_s(SIZES["large-3"])
    for c in LARGE:
        loads = [t.cause.detail for t in replay.transitions if t.component == f"cp-{c}" and t.t_s >= CAPACITY_AT_S
                 and t.cause.kind == "operator"]
        assert loads and f"load now {_fresh_ops_s(LEFT):,.0f} ops/s" in loads[0]


@pytest.fixture(scope="module")
def capacity_alone() -> RunResult:
    return run(load_scenario(FILE, _only("add_control_plane_capacity")))


def test_both_halves_end_it_sooner_than_the_capacity_alone_which_leaves_the_largest_cluster_down(
        replay, capacity_alone):
    """After the capacity C arrives the queue (full: 300 s x 500 ops/s) must fall under 60 s x C; it drains
    at most at C - fresh load (less while retries still arrive), so it takes at least
    (queue - 60 C) / (C - fresh): the more nodes call, the later, and the capacity alone leaves the largest
    cluster (1,100 ops/s fresh, 5,500 with its retries on 2,000) locked out."""
    capacity = CAPACITY + ADDED_OPS_S
    excess_ops = CAPACITY * QUEUE_LIMIT_S - CALL_TIMEOUT_S * capacity
    both = {c: _serving_again(replay, c) - CAPACITY_AT_S for c in LARGE}
    alone = {c: _serving_again(capacity_alone, c) - CAPACITY_AT_S for c in LARGE}
    for c in LARGE:
        assert excess_ops / (capacity - _fresh_ops_s(LEFT)) <= both[c] < 120
        assert both[c] < alone[c]
    assert alone["large-1"] == math.inf
    for c in ("large-2", "large-3"):
        assert excess_ops / (capacity - _fresh_ops_s(SIZES[c])) <= alone[c] < 300
    assert both["large-3"] < alone["large-3"] < alone["large-2"]  # 464 < 746 < 856 ops/s fresh


def test_removing_the_nodes_alone_does_not_end_it_while_the_agents_retry():
    res = run(load_scenario(FILE, _only("scale_pool")))
    assert all(_serving_again(res, c) == math.inf for c in LARGE)


def test_a_control_plane_queue_bounded_below_the_timeout_sheds_load_and_keeps_the_clusters_serving():
    shed = run(load_scenario(FILE, {**{f"topology.control_planes.cp-{c}.queue_limit_s": 30.0 for c in SIZES},
                                    "run.duration_s": 2400.0, "response.actions": []}))
    assert not _overloaded(shed)
    assert shed.summary["measured"]["availability"] > 0.999


@pytest.mark.parametrize("cost", [0.25, 3.0])
def test_the_change_cost_moves_the_size_at_which_a_cluster_tips(cost):
    res = run(load_scenario(FILE, {"faults.namespace-labels.ops_per_node_s": cost, "run.duration_s": 1800.0,
                                   "response.actions": []}))
    tipping = _tipping_size(cost)  # 33.6 nodes at 0.25 (none), 11.4 at 3 (the large ones and small-1)
    assert set(_overloaded(res)) == {c for c, n in SIZES.items() if n > tipping}


@pytest.mark.parametrize("attempts", [5, 1], ids=["callers-retry", "no-retries"])
def test_removing_data_plane_nodes_alone_ends_it_only_without_the_callers_retries(attempts):
    """A deeper removal alone: operators remove 14 of large-1's 30 nodes (outside the control plane) at
    11:30, so its fresh load falls to 50 + 5 x 16 + 16^2 = 386 ops/s, under its 500. With the agents
    retrying failed calls (5 attempts) the retries keep the queue full: it stays overloaded
    (metastable), which is why capacity had to be added too. Without retries the backlog drains in
    queue / (capacity - load), as the fluid model predicts."""
    removal = {"name": "remove-nodes", "kind": "scale_pool", "pool": "gpu-large-1", "remove": 14, "at_s": 5400,
               "needs_control_plane": False}
    res = run(load_scenario(FILE, {"response.actions": [removal],
                                   "topology.control_planes.cp-large-1.retry.max_attempts": attempts}))
    back = [t.t_s for t in res.transitions if t.component == "cp-large-1" and t.t_s >= 5400
            and t.state == "healthy" and t.cause.kind == "mechanism"]
    if attempts > 1:
        assert back == []
        return
    fresh_ops_s = BASE + PER_NODE * 16 + 16 ** 2
    queue_ops = CAPACITY * 300.0  # full: queue_limit_s 300 s of capacity
    predicted_s = 5400 + queue_ops / (CAPACITY - fresh_ops_s)
    assert back and abs(back[0] - predicted_s) < 60
