"""The shipped fault scenarios: every file validates (incident replays: tests/scenarios/test_replay_*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.spec.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted((ROOT / "faults").glob("*.yaml")) + sorted((ROOT / "incidents").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_file_validates(path):
    scenario = load_scenario(path)
    assert scenario.faults
    if path.parent.name == "incidents":
        assert "chosen by hand" in scenario.description or "chosen by hand" in path.read_text()


def test_fault_families_each_have_an_example():
    names = {p.stem for p in (ROOT / "faults").glob("*.yaml")}
    assert {"overload", "crash", "gpu", "software", "network", "maintenance", "dependency", "correlated"} <= names
