"""chaossim: a discrete-event chaos-engineering simulator for AI serving infrastructure.

    from sim import load_scenario, run
    result = run(load_scenario("builtin:demo"), seed=1)
    print(result.summary["measured"]["availability"])
"""

from sim.experiment.run import run
from sim.observe.result import RunResult
from sim.spec import Scenario, ScenarioError, load_scenario, parse_scenario, parse_scenario_text, with_changes

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "parse_scenario", "parse_scenario_text", "run",
           "with_changes"]
__version__ = "0.1.0"
