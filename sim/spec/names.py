"""One namespace for every component a run builds, including the names the simulator makes up.

Components are found by name (fault targets, partitions, figures, the cascade graph), so two of
them must never share one. Besides the names a scenario declares (load balancers, pools, databases,
caches, clients, zones), the simulator makes names of its own:

- replicas are ``<pool>-<index>``; the autoscaler keeps counting up from the last index, so every
  ``<pool>-<number>`` is reserved for the pool's replicas, whether it exists yet or not;
- ``bot_traffic`` adds a client ``<client>-bots-<fault id>`` beside each population it targets;
- ``discovery`` and ``control-plane`` are the service discovery and the control plane.

A declared name that takes one of these is an error, so the run cannot confuse the two components.
Zones share the namespace too: ``partition: between`` accepts two zones or two component names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sim.spec.scenario import Problem, Scenario

DISCOVERY_NAME = "discovery"
CONTROL_PLANE_NAME = "control-plane"
RESERVED_NAMES = {DISCOVERY_NAME: "service discovery", CONTROL_PLANE_NAME: "the control plane"}


def replica_name(pool: str, index: int) -> str:
    """Name of replica ``index`` of ``pool`` (the assembly and fault targeting use the same rule)."""
    return f"{pool}-{index}"


def bot_client_name(client: str, fault_id: str) -> str:
    """Name of the bot population a ``bot_traffic`` fault adds beside ``client``."""
    return f"{client}-bots-{fault_id}"


def _declared(scenario: Scenario) -> Iterator[tuple[str, str, str]]:
    """(name, what it is, path) of every name the scenario declares for a component or zone."""
    topo = scenario.topology
    for i, zone in enumerate(topo.zones):
        yield zone, "zone", f"topology.zones[{i}]"
    for i, lb in enumerate(topo.load_balancers):
        yield lb.name, "load balancer", f"topology.load_balancers[{i}].name"
    for i, pool in enumerate(topo.pools):
        yield pool.name, "pool", f"topology.pools[{i}].name"
    for i, db in enumerate(topo.databases):
        yield db.name, "database", f"topology.databases[{i}].name"
    for i, cache in enumerate(topo.caches):
        yield cache.name, "cache", f"topology.caches[{i}].name"
    for i, client in enumerate(scenario.workload.clients):
        yield client.name, "client", f"workload.clients[{i}].name"
    for i, cp in enumerate(topo.control_planes):
        yield cp.name, "control plane", f"topology.control_planes[{i}].name"


def generated_owner(name: str, scenario: Scenario) -> str | None:
    """What generated name ``name`` is (a replica of a pool, a bot population, a reserved name), if any."""
    if name in RESERVED_NAMES:
        return f"reserved for {RESERVED_NAMES[name]}"
    for pool in scenario.topology.pools:
        if re.fullmatch(re.escape(pool.name) + r"-[0-9]+", name):
            return f"reserved for the replicas of pool '{pool.name}' ({pool.name}-0, {pool.name}-1, ...)"
    for fault in scenario.faults:
        if fault.kind == "bot_traffic":
            for client in scenario.workload.clients:
                if name == bot_client_name(client.name, fault.id):
                    return f"reserved for the bots of fault '{fault.id}'"
    return None


def check_names(scenario: Scenario) -> list[Problem]:
    """A problem for every declared name used twice, or taken from a name the simulator generates."""
    problems: list[Problem] = []
    seen: dict[str, tuple[str, str]] = {}
    for name, what, path in _declared(scenario):
        owner = generated_owner(name, scenario)
        if owner is not None:
            problems.append(Problem(path, f"name '{name}' is {owner}"))
        elif name in seen:
            other_what, other_path = seen[name]
            if what == "zone" and other_what == "zone":
                problems.append(Problem(path, f"zone '{name}' is listed twice"))
            else:
                problems.append(Problem(path, f"name '{name}' is already used by {other_path} ({other_what})"))
        else:
            seen[name] = (what, path)
    return problems
