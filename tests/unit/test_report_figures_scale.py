"""Figures that scale: swimlanes aggregate a large pool per zone, the cascade figure groups by pool and zone."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import analyze
from sim.experiment.run import run
from sim.report.cascade_figure import GROUP_OVER, cascade_groups, collapsed_spread, draw_cascade
from sim.report.figures import state_segments
from sim.report.grouping import group_index
from sim.report.swimlanes import AGGREGATE_OVER, draw_swimlanes, lanes, state_shares, swimlane_size_in
from sim.spec import load_scenario, parse_scenario


def big_pool():
    """Twenty single-slot replicas over two zones; a third of them crash at 20 s and restart."""
    return parse_scenario({
        "name": "big-pool",
        "topology": {"zones": ["zone-a", "zone-b"], "load_balancers": [{"name": "lb", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 20, "zones": ["zone-a", "zone-b"],
                                "server": {"mode": "plain", "concurrency": 1,
                                           "service_time_s": {"kind": "exponential", "mean": 0.1}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb"], "arrival": {"kind": "poisson",
                                                                                  "rate_rps": 60}}]},
        "faults": [{"id": "crash-some", "kind": "crash", "target": {"pool": "api", "percent": 35}, "at_s": 20,
                    "restart_delay_s": 5}],
        "policies": {"health_check": {"period_s": 2}},
        "run": {"duration_s": 60, "bucket_s": 1, "seed": 2},
    })


@pytest.fixture(scope="module")
def big():
    result = run(big_pool())
    return result, analyze(result)


def test_a_large_pool_is_one_lane_per_zone(big):
    result, analysis = big
    rows = lanes(result)
    pool_lanes = [lane for lane in rows if lane.group.pool == "api"]
    assert 20 > AGGREGATE_OVER
    assert [lane.aggregate for lane in pool_lanes] == [True, True]
    assert {lane.group.zone for lane in pool_lanes} == {"zone-a", "zone-b"}
    assert sum(lane.group.size for lane in pool_lanes) == 20
    assert len(rows) == 2 + sum(1 for c in state_segments(result) if not c.startswith("api-"))
    fig = draw_swimlanes(result, analysis)
    assert tuple(fig.get_size_inches()) == pytest.approx(swimlane_size_in(len(rows)))


def test_aggregate_lane_shares_cover_every_replica_at_every_moment(big):
    result, _ = big
    segs = state_segments(result)
    for lane in (lane for lane in lanes(result) if lane.aggregate):
        bp, shares = state_shares(segs, lane.group.members)
        total = sum(shares.values())
        assert np.allclose(total[:-1], 1.0)  # each replica is in exactly one state (the last breakpoint is the end)
        down = shares["down"]
        assert down.max() > 0  # the crash shows in the lane
        assert down.max() * lane.group.size == pytest.approx(round(down.max() * lane.group.size))


@pytest.fixture(scope="module")
def zone_failover():
    scen = load_scenario("scenarios/teaching/zone-failover-no-headroom.yaml")
    scen = scen.model_copy(update={"run": scen.run.model_copy(update={"duration_s": 150.0})})
    result = run(scen)
    return result, analyze(result)


def test_zone_failover_cascade_is_drawn_by_pool_and_zone(zone_failover):
    result, analysis = zone_failover
    assert result.graph.number_of_nodes() > GROUP_OVER
    groups = cascade_groups(result)
    of = group_index(groups)
    assert len(groups) < result.graph.number_of_nodes()
    assert {g.key for g in groups if g.pool == "api"} == {"api@zone-a", "api@zone-b", "api@zone-c"}
    spread, inside = collapsed_spread(of, analysis["cascade"])
    table = analysis["cascade"]["table"]
    roots = {r["fault"] for r in analysis["cascade"]["roots"]}
    # per component, the figure used to draw one arrow per (pusher, pushed) pair
    pairs = {(by.split(" ")[0], row["component"]) for row in table for by in row["pushed_by"]}
    assert len(pairs) >= 30 > 10 >= len(spread)
    # nothing is lost in collapsing: each push by a fault or another component is one arrow's count or stays inside
    pushes = [(by.split(" ")[0], row["component"]) for row in table for by in row["pushed_by"]]
    counted = [(src, dst) for src, dst in pushes if src != dst and (src in of or src in roots)]
    assert sum(len(t) for t in spread.values()) + sum(inside.values()) == len(counted)
    fig = draw_cascade(result, analysis)
    red = [t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None
           and t.arrow_patch.get_edgecolor()[0] > 0.7 and t.arrow_patch.get_edgecolor()[1] < 0.3]
    assert len(spread) <= len(red) <= 10
