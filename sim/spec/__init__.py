"""Scenario schema: validated, immutable data describing a run. Imports nothing of the simulator."""

from sim.spec.loader import (
    ScenarioError,
    json_schema,
    load_scenario,
    load_scenario_data,
    parse_scenario,
    parse_scenario_text,
    with_changes,
)
from sim.spec.scenario import Problem, Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "json_schema",
    "load_scenario",
    "load_scenario_data",
    "parse_scenario",
    "parse_scenario_text",
    "with_changes",
]
