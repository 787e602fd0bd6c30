"""Results and scenario errors are plain data: they cross a process boundary intact.

A study runs scenarios in worker processes; what comes back is pickled. So a ``RunResult`` must hold
no live simulation object, and a ``ScenarioError`` must keep its list of problems.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sim import RunResult, ScenarioError, load_scenario, parse_scenario, run
from sim.spec.scenario import Problem


@pytest.fixture(scope="module")
def demo_result() -> RunResult:
    scenario = load_scenario("builtin:demo")
    short = scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": 360.0})})
    return run(short, seed=3, record_requests=True)


def test_a_run_result_survives_a_pickle_round_trip(demo_result: RunResult) -> None:
    back = pickle.loads(pickle.dumps(demo_result))
    assert back == demo_result
    assert back.summary == demo_result.summary
    assert back.transitions == demo_result.transitions
    assert np.array_equal(back.timeseries["success_ratio"], demo_result.timeseries["success_ratio"], equal_nan=True)
    assert sorted(back.graph.edges) == sorted(demo_result.graph.edges)


def test_results_compare_by_value(demo_result: RunResult) -> None:
    """Equality is not identity: it sees a changed array cell, a changed figure, a missing transition."""
    changed = pickle.loads(pickle.dumps(demo_result))
    changed.timeseries["arrivals"][3] += 1
    assert changed != demo_result
    changed = pickle.loads(pickle.dumps(demo_result))
    changed.summary["measured"]["availability"] = 0.5
    assert changed != demo_result
    changed = pickle.loads(pickle.dumps(demo_result))
    changed.transitions.pop()
    assert changed != demo_result


def test_a_result_holds_no_live_simulation_object(demo_result: RunResult) -> None:
    """Only data types: nothing from the engine's clock, the components or the resilience policies."""
    seen: set[int] = set()
    live = []

    def walk(value: object) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        module = type(value).__module__
        if module.startswith(("sim.components", "sim.resilience", "sim.faults", "simpy")) or \
                module in ("sim.engine.world", "sim.assembly.wiring"):
            live.append(type(value).__qualname__)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple | set):
            for v in value:
                walk(v)
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            for v in vars(value).values():
                walk(v)

    walk(demo_result)
    assert not live


def test_every_component_reports_its_own_figures(demo_result: RunResult) -> None:
    components = demo_result.summary["components"]
    assert {c["kind"] for c in components.values()} >= {"client", "load_balancer", "server"}
    servers = [c for c in components.values() if c["kind"] == "server"]
    assert all({"pool", "zone", "completed", "failed", "final_state", "preemptions"} <= set(c) for c in servers)
    assert sum(c["routed"] for c in components.values() if c["kind"] == "load_balancer") > 0


def test_a_scenario_error_survives_a_pickle_round_trip() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"name": "x", "run": {"duration_s": -1}})
    error = caught.value
    assert len(error.problems) >= 1
    back = pickle.loads(pickle.dumps(error))
    assert back.problems == error.problems
    assert str(back) == str(error)
    assert all(isinstance(p, Problem) for p in back.problems)


def test_a_scenario_error_with_one_problem_keeps_its_message_whole() -> None:
    error = ScenarioError([Problem("run.duration_s", "must be positive")])
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == "run.duration_s: must be positive"
