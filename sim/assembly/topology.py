"""The topology as a networkx graph: who calls whom, with each node's kind, tier, pool and zone."""

from __future__ import annotations

import networkx as nx

from sim.spec.inventory import inventory
from sim.spec.scenario import Scenario

TIERS = {"client": 0, "discovery": 1, "load_balancer": 2, "server": 3, "cache": 4, "database": 5}


def topology_graph(scenario: Scenario) -> nx.DiGraph:
    """Directed graph client → load balancer → replica → cache → database (plus discovery, if any)."""
    g = nx.DiGraph(name=scenario.name)
    topo = scenario.topology
    default_zone = topo.zones[0]
    for client in scenario.workload.clients:
        g.add_node(client.name, kind="client", tier=TIERS["client"], zone=client.zone or "", pool="")
    if topo.discovery is not None:
        g.add_node("discovery", kind="discovery", tier=TIERS["discovery"], zone="", pool="")
        for client in scenario.workload.clients:
            g.add_edge(client.name, "discovery")
    for info in inventory(scenario):
        g.add_node(info.name, kind=info.kind, tier=TIERS[info.kind], zone=info.zone, pool=info.pool or "")
    for client in scenario.workload.clients:
        for lb in client.target:
            g.add_edge(client.name, lb)
    by_pool: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        if data["kind"] == "server":
            by_pool.setdefault(data["pool"], []).append(node)
    for lb in topo.load_balancers:
        for pool in lb.upstream:
            for server in by_pool[pool]:
                g.add_edge(lb.name, server)
    for pool in topo.pools:
        if pool.database is not None and pool.db_calls_per_request > 0:
            for server in by_pool[pool.name]:
                g.add_edge(server, pool.database)
    for cache in topo.caches:
        g.add_edge(cache.name, cache.database)
    g.graph["default_zone"] = default_zone
    return g
