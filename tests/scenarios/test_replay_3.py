"""Card 3 (OpenAI 2024-04-10): a failover overloads the surviving cluster's control plane.

Shape, counterfactuals (the survivor's control plane sized for the failover; no room to scale) and
sensitivity (the survivor's control-plane headroom delays its failure) of
scenarios/incidents/openai-2024-04-10-failover-control-plane.yaml, by overrides on one seed.
"""

from __future__ import annotations

import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from tests.scenarios.replays import incident, replay_fixtures

FILE = incident("openai-2024-04-10-failover-control-plane.yaml")
OOM_S, TTL_S = 780.0, 120.0  # 10:58 PDT; the in-cluster DNS records' TTL
SHORT = {"run.duration_s": 3000.0}


def _replay(**changes) -> RunResult:
    return run(load_scenario(FILE, {**SHORT, **changes}))


def _first(res: RunResult, component: str, state: str) -> float | None:
    return next((t.t_s for t in res.transitions if t.component == component and t.state == state
                 and t.cause.kind == "mechanism"), None)


def _success(res: RunResult, t0_s: float, t1_s: float) -> float:
    ts = res.timeseries
    keep = (ts["t_s"] >= t0_s) & (ts["t_s"] < t1_s)
    return float(ts["outcome_success"][keep].sum() / max(1, ts["ended"][keep].sum()))


scenario, replay = replay_fixtures(FILE, SHORT)


def test_cluster_a_fails_traffic_fails_over_b_scales_up_and_its_own_control_plane_fails(replay):
    a_over, b_over = _first(replay, "cp-a", "overloaded"), _first(replay, "cp-b", "overloaded")
    assert a_over == OOM_S and b_over is not None and b_over > a_over + TTL_S
    # A's replicas fail one TTL after A's control plane (in-cluster DNS), and only A's before B's control plane
    marks = [t for t in replay.transitions if t.cause.mechanism == "record_ttl"]
    assert min(t.t_s for t in marks if t.component.startswith("chat-a-")) == pytest.approx(a_over + TTL_S)
    assert all(t.t_s >= b_over + TTL_S for t in marks if t.component.startswith("chat-b-"))
    # failover: the frontend ejects A's replicas and the service is mostly kept while B carries it
    ejected = [t for t in replay.transitions if t.component == "chatgpt-frontend" and "ejected" in t.cause.detail
               and a_over + TTL_S <= t.t_s < b_over]
    assert any("chat-a-" in t.cause.detail for t in ejected)
    assert _success(replay, a_over + TTL_S + 120, b_over) > 0.9
    # B scaled up before its control plane failed: its extra nodes are what pushed it over
    added_b = [t for t in replay.transitions if t.cause.mechanism == "autoscaling" and "added chat-b-" in t.cause.detail
               and a_over < t.t_s < b_over]
    assert added_b
    # then a total outage, with no recovery (nothing restores A's control plane)
    assert _success(replay, b_over + TTL_S + 120, 3000) < 0.01


def test_the_survivors_control_plane_sized_for_the_failover_holds(replay):
    sized = _replay(**{"control_planes.cp-b.capacity_ops_s": 200.0})
    assert _first(sized, "cp-b", "overloaded") is None
    assert _success(sized, OOM_S + TTL_S + 120, 3000) > 0.9


def test_without_room_to_scale_the_survivors_control_plane_is_not_pushed_over():
    capped = _replay(**{"pools.chat-b.autoscaling.max_replicas": 10})
    assert _first(capped, "cp-b", "degraded") is None
    assert _success(capped, OOM_S + TTL_S + 120, 3000) > 0.9


def test_more_headroom_on_the_survivors_control_plane_delays_its_failure(replay):
    # the queue fills at (load - capacity): more capacity, a slower fill (and, at 200, none: see above)
    base = _first(replay, "cp-b", "overloaded")
    roomier = _first(_replay(**{"control_planes.cp-b.capacity_ops_s": 115.0}), "cp-b", "overloaded")
    assert base is not None and roomier is not None and roomier > base + 120
