"""The concrete components a scenario declares, and fault target matching over them.

Replica names are derived here (``<pool>-<index>``, zones assigned round-robin) so that the spec,
the builder and fault targeting agree on them without the spec importing the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.spec.faults import TargetSpec
from sim.spec.names import CONTROL_PLANE_NAME, DISCOVERY_NAME, replica_name
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
            name = replica_name(pool.name, i)
            items.append(ComponentInfo(name, "server", replica_zone(zones, i), pool.name, dict(pool.labels)))
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


class TargetIndex:
    """An inventory indexed by name, pool and zone: a selector is resolved from its narrowest filter, so
    targeting many faults costs what they match, not faults x components."""

    def __init__(self, items: list[ComponentInfo]):
        self.items = items
        self.by_name: dict[str, list[ComponentInfo]] = {}
        self.by_pool: dict[str | None, list[ComponentInfo]] = {}
        self.by_zone: dict[str, list[ComponentInfo]] = {}
        for c in items:
            self.by_name.setdefault(c.name, []).append(c)
            self.by_pool.setdefault(c.pool, []).append(c)
            self.by_zone.setdefault(c.zone, []).append(c)

    def narrowest(self, target: TargetSpec) -> list[ComponentInfo]:
        """The components of the selector's narrowest filter (name, else pool, else zone), in inventory order."""
        if target.name is not None:
            return self.by_name.get(target.name, [])
        if target.pool is not None:
            return self.by_pool.get(target.pool, [])
        if target.zone is not None:
            return self.by_zone.get(target.zone, [])
        return self.items


def candidates(target: TargetSpec, items: list[ComponentInfo] | TargetIndex,
               kinds: tuple[str, ...]) -> list[ComponentInfo]:
    """Components of the given kinds that a target selector matches (before count / percent)."""
    pool = items.narrowest(target) if isinstance(items, TargetIndex) else items
    return [c for c in pool if c.kind in kinds and matches(target, c)]


_SERVER = ("server",)
FAULT_TARGET_KINDS: dict[str, tuple[str, ...]] = {
    "surge": ("client",),
    "bot_traffic": ("client",),
    **{kind: _SERVER for kind in (
        "crash", "gpu_lost", "ecc_error", "tp_link_failure", "thermal_throttle", "kv_cache_exhaustion",
        "error_rate", "latency_inflation", "hang", "poison_request", "memory_leak", "wrong_answer",
        "bad_deploy", "drain", "config_push", "os_update", "fleet_change",
    )},
    "dns_failure": ("discovery",),
    "dns_cache_cut": ("discovery",),
    "database_slow": ("database",),
    "database_down": ("database",),
    "database_failover": ("database",),
    "connection_surge": ("database",),
    "cache_flush": ("cache",),
    "cache_down": ("cache",),
    "control_plane_overload": ("control_plane",),
    "control_plane_capacity_loss": ("control_plane",),
    "cleanup_job": ("server", "load_balancer", "database", "cache"),
}
"""Which component kinds each targeted fault kind may act on (zone and link faults have no target)."""

LLM_ONLY_FAULTS = frozenset(("kv_cache_exhaustion",))
"""Fault kinds that only make sense on LLM replicas (plain validation servers have no KV cache)."""



def fault_inventory(scenario: Scenario) -> list[ComponentInfo]:
    """Everything a fault can target: ``inventory`` plus clients, discovery and the control plane."""
    topo = scenario.topology
    default_zone = topo.zones[0]
    items = inventory(scenario)
    for client in scenario.workload.clients:
        items.append(ComponentInfo(client.name, "client", client.zone or default_zone))
    if topo.discovery is not None:
        items.append(ComponentInfo(DISCOVERY_NAME, "discovery", default_zone))
        if topo.discovery.control_plane is not None:
            items.append(ComponentInfo(CONTROL_PLANE_NAME, "control_plane", default_zone))
    zone_of = {p.name: (p.zones or [default_zone])[0] for p in topo.pools}
    for cp in topo.control_planes:
        items.append(ComponentInfo(cp.name, "control_plane", zone_of[cp.pools[0]]))
    return items


def fault_candidates(scenario: Scenario, fault,
                     items: list[ComponentInfo] | TargetIndex | None = None) -> list[ComponentInfo]:
    """Components a fault's target selector matches among the kinds it can act on (before count / percent)."""
    if getattr(fault, "target", None) is None:
        return []
    items = fault_inventory(scenario) if items is None else items
    found = candidates(fault.target, items, FAULT_TARGET_KINDS.get(fault.kind, _SERVER))
    if fault.kind in LLM_ONLY_FAULTS:
        llm_pools = {p.name for p in scenario.topology.pools if p.server.mode == "llm"}
        found = [c for c in found if c.pool in llm_pools]
    if fault.kind == "connection_surge":
        on_demand = {d.name for d in scenario.topology.databases if d.connections is not None}
        found = [c for c in found if c.name in on_demand]
    return found


def check_fault_targets(scenario: Scenario) -> list[Problem]:
    """A problem for every fault whose targets, zones or windows do not fit the scenario."""
    items = fault_inventory(scenario)
    index = TargetIndex(items)
    names = {c.name for c in items}
    zones = set(scenario.topology.zones)
    problems: list[Problem] = []
    for i, fault in enumerate(scenario.faults):
        where = f"faults[{i}]"
        if getattr(fault, "target", None) is not None:
            kinds = FAULT_TARGET_KINDS.get(fault.kind, _SERVER)
            found = fault_candidates(scenario, fault, index)
            if not found:
                what = " or ".join(kinds) + (" of an llm pool" if fault.kind in LLM_ONLY_FAULTS else "") + (
                    " with connections (databases[].connections)" if fault.kind == "connection_surge" else "")
                problems.append(Problem(f"{where}.target", f"matches no {what} in the topology"))
            elif fault.target.count is not None and fault.target.count > len(found):
                problems.append(
                    Problem(f"{where}.target.count", f"asks for {fault.target.count} but only {len(found)} match")
                )
        for j, zone in enumerate(getattr(fault, "zones", None) or []):
            if zone not in zones:
                problems.append(Problem(f"{where}.zones[{j}]", f"unknown zone '{zone}'"))
        if fault.kind == "zone_outage" and fault.zone not in zones:
            problems.append(Problem(f"{where}.zone", f"unknown zone '{fault.zone}'"))
        if fault.kind == "partition":
            a, b = fault.between
            if not ((a in zones and b in zones) or (a in names and b in names)):
                problems.append(Problem(f"{where}.between", "give two zones or two component names that exist"))
        if fault.kind == "fleet_change" and not scenario.topology.control_planes and (
            scenario.topology.discovery is None or scenario.topology.discovery.control_plane is None
        ):
            problems.append(Problem(f"{where}.kind",
                                    "fleet_change needs topology.discovery.control_plane (or topology.control_planes)"))
        rec = fault.recurring
        if rec is not None and fault.at_s + (rec.count - 1) * rec.every_s + fault.duration_s > scenario.run.duration_s:
            problems.append(Problem(f"{where}.recurring.count", "the last window ends after the run ends"))
    return problems
