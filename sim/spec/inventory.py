"""The concrete components a scenario declares, and fault target matching over them.

Replica names are derived here (``<pool>-<index>``, zones assigned round-robin) so that the spec,
the builder and fault targeting agree on them without the spec importing the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.spec.faults import TargetSpec
from sim.spec.scenario import Problem, Scenario


@dataclass(frozen=True)
class ComponentInfo:
    """Identity of one component: its name, kind, pool (for replicas), zone and labels."""

    name: str
    kind: str
    zone: str
    pool: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def replica_zone(zones: list[str], index: int) -> str:
    """Zone of replica ``index`` when replicas are spread round-robin over ``zones``."""
    return zones[index % len(zones)]


def inventory(scenario: Scenario) -> list[ComponentInfo]:
    """Every component of the scenario, in a stable order (load balancers, replicas, caches, databases)."""
    topo = scenario.topology
    default_zone = topo.zones[0]
    items: list[ComponentInfo] = []
    for lb in topo.load_balancers:
        items.append(ComponentInfo(lb.name, "load_balancer", lb.zone or default_zone))
    for pool in topo.pools:
        zones = pool.zones or [default_zone]
        for i in range(pool.replicas):
            items.append(
                ComponentInfo(f"{pool.name}-{i}", "server", replica_zone(zones, i), pool.name, dict(pool.labels))
            )
    for cache in topo.caches:
        items.append(ComponentInfo(cache.name, "cache", cache.zone or default_zone))
    for db in topo.databases:
        items.append(ComponentInfo(db.name, "database", db.zone or default_zone))
    return items


def matches(target: TargetSpec, info: ComponentInfo) -> bool:
    """Whether one component passes every filter of a target selector."""
    if target.name is not None and info.name != target.name:
        return False
    if target.pool is not None and info.pool != target.pool:
        return False
    if target.zone is not None and info.zone != target.zone:
        return False
    if target.labels:
        return all(info.labels.get(k) == v for k, v in target.labels.items())
    return True


def candidates(target: TargetSpec, items: list[ComponentInfo], kinds: tuple[str, ...]) -> list[ComponentInfo]:
    """Components of the given kinds that a target selector matches (before count / percent)."""
    return [c for c in items if c.kind in kinds and matches(target, c)]


FAULT_TARGET_KINDS: dict[str, tuple[str, ...]] = {"crash": ("server",)}
"""Which component kinds each fault kind may target; fault families add their entries here."""


def check_fault_targets(scenario: Scenario) -> list[Problem]:
    """A problem for every fault whose target matches no component it can act on."""
    items = inventory(scenario)
    problems: list[Problem] = []
    for i, fault in enumerate(scenario.faults):
        kinds = FAULT_TARGET_KINDS.get(fault.kind, ("server",))
        found = candidates(fault.target, items, kinds)
        if not found:
            problems.append(Problem(f"faults[{i}].target", f"matches no {' or '.join(kinds)} in the topology"))
        elif fault.target.count is not None and fault.target.count > len(found):
            problems.append(
                Problem(f"faults[{i}].target.count", f"asks for {fault.target.count} but only {len(found)} match")
            )
    return problems
