"""chaossim: a discrete-event chaos-engineering simulator for AI serving infrastructure.

    from sim import load_scenario, run
    result = run(load_scenario("builtin:demo"), seed=1)
    print(result.summary["measured"]["availability"])

The names below are imported on first use (PEP 562), so that ``import sim.cli`` and ``chaossim --help``
do not load the simulator, the schema and their libraries before a command needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run": "sim.experiment.run",
    "RunResult": "sim.observe.result",
    "Scenario": "sim.spec",
    "ScenarioError": "sim.spec",
    "load_scenario": "sim.spec",
    "parse_scenario": "sim.spec",
    "parse_scenario_text": "sim.spec",
    "with_changes": "sim.spec",
}

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "parse_scenario", "parse_scenario_text", "run",
           "with_changes"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
