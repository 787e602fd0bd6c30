"""Cascade graph and blast radius, from the recorded causes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import analyze
from sim.analysis.cascade import analyze_cascade, cascade_graph, fault_node
from sim.engine.timeline import Cause, Transition
from sim.experiment.run import run
from sim.report.files import write_run
from sim.spec import parse_scenario

from .analysis_scenarios import near_capacity, short_demo


@pytest.fixture(scope="module")
def demo_result():
    return run(short_demo())


@pytest.fixture(scope="module")
def near_result():
    return run(near_capacity())


def test_graph_links_causes_to_effects_and_skips_unrelated_transitions():
    t = [
        Transition(0, 0.0, "a", "healthy", None, Cause("init", "a", "initial")),
        Transition(1, 0.0, "b", "healthy", None, Cause("init", "b", "initial")),
        Transition(2, 5.0, "a", "down", "healthy", Cause("fault", "f1", "crash")),
        Transition(3, 6.0, "a", "starting", "down", Cause("mechanism", "a", "restart", parents=(2,))),
        Transition(4, 7.0, "b", "overloaded", "healthy", Cause("mechanism", "b", "queueing", parents=(3,))),
        Transition(5, 7.5, "c", "overloaded", "healthy", Cause("mechanism", "c", "queueing")),
        Transition(6, 9.0, "lb", "degraded", "healthy", Cause("mechanism", "lb", "health_check", parents=(4, 5))),
        Transition(7, 12.0, "b", "healthy", "overloaded", Cause("mechanism", "b", "queueing")),
    ]
    g = cascade_graph(t, [{"t_s": 5.0, "fault": "f1", "kind": "crash", "event": "start", "targets": ["a"]}])
    assert set(g.nodes) == {fault_node("f1"), 2, 3, 4, 6}
    assert set(g.edges) == {(fault_node("f1"), 2), (2, 3), (3, 4), (4, 6)}
    gens = {n: g.nodes[n]["generation"] for n in (2, 3, 4, 6)}
    assert gens == {2: 1, 3: 1, 4: 2, 6: 3}  # a's own restart keeps its generation


def test_demo_crash_roots_a_cascade_that_reaches_the_load_balancer(demo_result):
    c = analyze_cascade(demo_result)
    assert [r["fault"] for r in c["roots"]] == ["two-replicas-crash"]
    targets = demo_result.fault_log[0]["targets"]
    assert c["direct_victims"] == sorted(targets)
    assert "lb-1" in c["components"]
    assert c["depth"] >= 2
    lb_rows = [r for r in c["table"] if r["component"] == "lb-1"]
    assert lb_rows and all(r["generation"] >= 2 for r in lb_rows)
    assert not c["containment"]["pool"] and not c["containment"]["tier"]
    assert "lb-1" in c["containment"]["left_tier"]
    # ejection needs failure_threshold consecutive failed probes: at least (threshold - 1) periods after the crash
    hc = demo_result.scenario.policies.health_check
    assert c["time_to_widest_s"] >= (hc.failure_threshold - 1) * hc.period_s
    # 2 of 8 equal replicas: a quarter of the serving capacity
    assert c["blast_radius"]["capacity_share"] == pytest.approx(2 / 8)


def test_crash_near_capacity_overloads_the_survivors(near_result):
    c = analyze_cascade(near_result)
    assert c["depth"] >= 2
    overloaded = [r for r in c["table"] if r["state"] == "overloaded"]
    assert overloaded, "the survivors should be pushed into overload by the crash"
    assert {r["component"] for r in overloaded} <= {"api-1", "api-2"}
    assert all(r["generation"] >= 2 for r in overloaded)
    assert any("api-0 down" in r["pushed_by"] for r in overloaded)
    assert c["first_fault_s"] == 60.0


def test_without_health_checks_the_cascade_stays_in_its_pool():
    c = analyze_cascade(run(near_capacity(health=False)))
    assert c["depth"] >= 2
    assert c["containment"]["pool"] and c["containment"]["tier"]
    assert "lb-1" not in c["components"]


def test_control_run_has_an_empty_cascade():
    a = analyze(run(near_capacity(faults=False)))
    assert a["cascade"]["empty"]
    assert a["cascade"]["depth"] == 0 and a["cascade"]["components"] == []
    assert a["cascade"]["graph"]["nodes"] == []


def test_user_share_matches_per_request_records():
    result = run(near_capacity(), record_requests=True)
    req = result.requests
    measured = req["end_s"] >= result.scenario.run.warmup_s
    users = req["user"][measured]
    bad = req["outcome"][measured] != "success"
    br = analyze_cascade(result)["blast_radius"]
    assert br["users_active"] == len(np.unique(users))
    assert br["users_affected"] == len(np.unique(users[bad]))
    assert br["requests_affected"] == int(bad.sum())
    assert br["users_share"] != br["requests_share"]


def test_analysis_of_a_run_directory_equals_the_analysis_of_the_result(near_result, tmp_path):
    write_run(near_result, tmp_path, figures=False)
    assert analyze(tmp_path) == analyze(near_result)


def test_a_fault_that_changes_no_recorded_state_is_a_root_without_a_cascade():
    data = near_capacity().model_dump(mode="json")
    data["faults"] = [{"id": "slow-links", "kind": "network_latency", "zones": ["zone-b"], "at_s": 60,
                       "duration_s": 20, "added_latency_ms": 50}]
    scenario = parse_scenario(data)
    c = analyze(run(scenario))["cascade"]
    assert [r["fault"] for r in c["roots"]] == ["slow-links"]
    assert c["empty"] and c["depth"] == 0 and "changed no component" in c["summary"]


def test_planned_maintenance_is_a_root_of_the_cascade_it_causes():
    """Maintenance is a trigger people scheduled: without a disruption budget it takes the whole pool down,
    and the cascade names it as the root of every replica's restart (it used to say "no fault in this run")."""
    from sim.spec.loader import load_scenario

    a = analyze(run(load_scenario("scenarios/teaching/maintenance-no-budget.yaml")))
    c = a["cascade"]
    assert not c["empty"]
    assert [r["kind"] for r in c["roots"]] == ["maintenance"] and "api" in c["roots"][0]["fault"]
    assert {"api-0", "api-1", "api-2", "api-3"} <= set(c["components"])
