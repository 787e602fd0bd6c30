"""The README's seeded figures are what the simulator gives: demo availability by balancing policy.

The figures are read from the README's own sentence ("... 97.4 % with `least_outstanding`, ..."), so
the test and the text cannot disagree silently: change the model and the README must change with it.
Each is compared at the precision the README writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sim
from sim import load_scenario, run

README = Path(__file__).resolve().parents[2] / "README.md"
FIGURE = re.compile(r"(\d+(?:\.\d+)?) % with `(\w+)`")
"""A figure as the README writes it in the demo paragraph: '99.7 % with `power_of_two`'."""


def readme_figures() -> list[tuple[str, str]]:
    """(policy, figure as written) for every '<x> % with `<policy>`' in the README."""
    return [(policy, value) for value, policy in FIGURE.findall(README.read_text(encoding="utf-8"))]


def test_the_readme_states_the_demo_figure_of_each_balancing_policy():
    policies = [policy for policy, _ in readme_figures()]
    assert policies == ["least_outstanding", "power_of_two", "round_robin"], policies


@pytest.mark.parametrize(("policy", "written"), readme_figures())
def test_demo_availability_by_balancing_policy_is_as_the_readme_says(policy: str, written: str):
    demo = load_scenario("builtin:demo")
    result = run(sim.with_changes(demo, {"policies.balancing.kind": policy}))
    decimals = len(written.partition(".")[2])
    measured = f"{result.summary['measured']['availability'] * 100:.{decimals}f}"
    assert measured == written, f"demo with {policy}: README says {written} %, the run gives {measured} %"
