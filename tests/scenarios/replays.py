"""What the incident replay tests share: the path of a card's scenario file, and module fixtures for the
file and its run.

    REPLAY = incident("openai-2023-11-08-devday.yaml")
    scenario, replay = replay_fixtures(REPLAY)

gives the test module the fixtures ``scenario`` (the file as written, loaded once) and ``replay`` (one
run of it, shared by the module's tests), so each test file keeps only what its card needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario, with_changes
from sim.spec.scenario import Scenario

INCIDENTS = Path(__file__).resolve().parents[2] / "scenarios" / "incidents"


def incident(file_name: str) -> Path:
    """The path of an incident replay's scenario file (``scenarios/incidents/<file_name>``)."""
    return INCIDENTS / file_name


def replay_fixtures(path: Path, changes: Mapping[str, Any] | None = None, *, name: str = "replay",
                    runner: Callable[..., Any] = run, **run_options: Any) -> tuple[Any, Any]:
    """Module-scoped fixtures ``scenario`` (the file, loaded) and ``name`` (its run by ``runner`` with
    ``run_options``; ``changes``, dotted overrides, apply to that run only, e.g. a shorter run).
    Assign both at module level: pytest finds fixtures among a module's names."""

    @pytest.fixture(scope="module", name="scenario")
    def scenario_fixture() -> Scenario:
        return load_scenario(path)

    @pytest.fixture(scope="module", name=name)
    def run_fixture(scenario: Scenario) -> Any:
        return runner(with_changes(scenario, dict(changes)) if changes else scenario, **run_options)

    return scenario_fixture, run_fixture


def all_healthy_after(result: RunResult, prefix: str, t0_s: float) -> float | None:
    """Seconds after ``t0_s`` until the last replica named ``prefix*`` became healthy; None if one never did."""
    replicas = {t.component for t in result.transitions if t.component.startswith(prefix) and t.cause.kind == "init"}
    last: dict[str, float] = {}
    for t in result.transitions:
        if t.component in replicas and t.t_s > t0_s and t.state == "healthy":
            last[t.component] = t.t_s
    return max(last.values()) - t0_s if replicas and set(last) == replicas else None
