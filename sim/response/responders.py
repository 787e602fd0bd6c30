"""The responders of one run: the online monitor, the on-call and the runbook, and their log."""

from __future__ import annotations

from typing import Any

from sim.engine.world import World
from sim.response.log import ResponseLog
from sim.response.monitor import OnlineMonitor
from sim.response.oncall import OnCall
from sim.response.runbook import Runbook
from sim.spec.monitoring import alert_rules


class Responders:
    """Wired from the scenario's ``response`` section; ``report()`` is what ``summary.json`` keeps."""

    def __init__(self, scenario: Any, world: World, stack: Any, seed: int):
        spec = scenario.response
        self.log = ResponseLog()
        rules, _ = alert_rules(scenario.monitoring, scenario.slo)
        probe = scenario.monitoring.quality_probe
        severity = {r.name: r.severity for r in rules}
        if probe is not None:
            severity[probe.name] = probe.severity
        routed = spec.routing.page

        def pages(name: str) -> bool:
            return name in routed if routed is not None else severity.get(name) == "page"

        self.runbook = Runbook(world, stack, list(spec.actions), self.log)
        self.oncall = OnCall(world, spec.oncall, pages, self.log, self.runbook.diagnosed)
        self.monitor = OnlineMonitor(world, rules, probe, seed, self.oncall.alert)

    def start(self) -> None:
        self.monitor.start()
        self.runbook.start()

    def report(self) -> dict[str, Any]:
        """The log and the alert episodes seen during the run (plain data)."""
        return {"log": [dict(e) for e in self.log.entries], "alerts": [dict(e) for e in self.monitor.episodes()]}


def start_response(scenario: Any, world: World, stack: Any, seed: int) -> Responders | None:
    """Wire and start the responders of a scenario with a ``response`` section (None without one)."""
    if scenario.response is None:
        return None
    responders = Responders(scenario, world, stack, seed)
    responders.start()
    return responders
