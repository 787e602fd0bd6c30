"""Metastability: a retry storm without a budget stays stuck after the surge; with a budget it recovers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sim.analysis.metastability import metastability
from sim.experiment.run import run
from sim.spec import load_scenario

from .analysis_scenarios import near_capacity, retry_storm


@pytest.fixture(scope="module")
def stuck_run():
    return run(retry_storm(max_attempts=5))


@pytest.fixture(scope="module")
def stuck(stuck_run):
    return metastability(stuck_run)


def test_retries_without_a_budget_keep_the_system_stuck_after_the_surge(stuck):
    assert stuck["verdict"] == "stuck"
    assert stuck["trigger_end_s"] == 80
    assert stuck["text"].startswith("stuck (metastable)")
    ev = stuck["evidence"]
    # the time series backs it: no trigger left, yet retries multiply the load and nothing succeeds
    assert ev["end_of_run"]["arrival_rps"] == pytest.approx(ev["before"]["arrival_rps"], rel=0.25)
    assert ev["end_of_run"]["attempts_per_arrival"] > 3
    assert ev["end_of_run"]["success_ratio"] < 0.5 < ev["before"]["success_ratio"]


@pytest.mark.parametrize("kwargs", [{"budget": True}, {"max_attempts": 1}], ids=["envoy-retry-budget", "no-retry"])
def test_a_retry_budget_or_no_retries_let_it_recover(kwargs, stuck):
    m = metastability(run(retry_storm(max_attempts=kwargs.get("max_attempts", 5), budget=kwargs.get("budget", False))))
    assert m["verdict"] == "recovered"
    assert 0 < m["recovered_after_s"] <= m["recovery_window_s"]
    assert m["recovered_at_s"] == pytest.approx(m["trigger_end_s"] + m["recovered_after_s"])
    assert m["text"].startswith(f"recovered after {m['recovered_after_s']:g} s")
    ev = m["evidence"]["end_of_run"]
    assert ev["attempts_per_arrival"] < stuck["evidence"]["end_of_run"]["attempts_per_arrival"]
    assert ev["success_ratio"] > 0.95


def test_undetermined_when_the_run_ends_inside_the_recovery_window(stuck_run):
    scenario = stuck_run.scenario
    longer = scenario.model_copy(update={"slo": scenario.slo.model_copy(update={"recovery_window_s": 500})})
    m = metastability(dataclasses.replace(stuck_run, scenario=longer))
    assert m["verdict"] == "undetermined"


def test_not_applicable_without_a_trigger():
    assert metastability(run(near_capacity(faults=False)))["verdict"] == "not applicable"


TEACHING = Path(__file__).resolve().parents[2] / "scenarios" / "teaching"


@pytest.mark.parametrize(("name", "verdict"), [("retry-storm-no-budget", "stuck"), ("retry-storm-budget", "recovered")])
def test_the_teaching_retry_storm_pair(name, verdict):
    path = TEACHING / f"{name}.yaml"
    assert metastability(run(load_scenario(path)))["verdict"] == verdict
