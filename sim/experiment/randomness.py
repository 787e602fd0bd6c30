"""Which sources of randomness differ between a scenario's seeds, so a CI can say what it covers.

A confidence interval across seeds only covers what the seed changes. A Poisson client's arrivals
change with the seed; a trace replayed from its start does not, and then the CI covers only the
remaining randomness (service and token draws, fault targets and times, balancer choices). Each
experiment writes this list to its manifest and prints it under its table.
"""

from __future__ import annotations

from typing import Any

from sim.spec import Scenario


def _trace_variation(arrival: Any) -> list[str]:
    """The trace arrival's seeded options that are switched on (a random start offset, resampling)."""
    return arrival.arrival_randomness()


def randomness_covered(scenario: Scenario) -> list[str]:
    """One line per source of randomness, saying whether the seed varies it."""
    lines = []
    for client in scenario.workload.clients:
        arrival = client.arrival
        if arrival.kind == "trace":
            varied = _trace_variation(arrival)
            if varied:
                lines.append(f"client {client.name}: trace replay varied by the seed ({', '.join(varied)})")
            else:
                lines.append(f"client {client.name}: trace replayed identically on every seed (arrivals NOT "
                             "covered by the CI)")
            if not arrival.use_trace_tokens:
                lines.append(f"client {client.name}: token counts drawn per seed")
        else:
            lines.append(f"client {client.name}: {arrival.kind} arrivals and token counts drawn per seed")
    plain = [p.name for p in scenario.topology.pools if p.server.mode == "plain"]
    if plain:
        lines.append(f"service times drawn per seed (pools {', '.join(plain)})")
    random_faults = [f.id for f in scenario.faults if getattr(f, "stochastic", None) is not None]
    if random_faults:
        lines.append(f"fault times drawn per seed ({', '.join(random_faults)})")
    counted = [f.id for f in scenario.faults if getattr(f.target, "count", None) or getattr(f.target, "percent", None)]
    if counted:
        lines.append(f"fault targets picked per seed ({', '.join(counted)})")
    lines.append("users, balancer choices and retry jitter drawn per seed")
    return lines
