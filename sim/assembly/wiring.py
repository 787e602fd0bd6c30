"""Turn a validated scenario into wired components on a World, ready to run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sim.assembly.policies import (
    DnsRecords,
    balancer_policies,
    client_policies,
    client_retry,
    server_policies,
    show_zones,
    start_controllers,
    startup_retry,
)
from sim.components.cache import Cache
from sim.components.cache_shard import build_shards
from sim.components.client import Client
from sim.components.connections import ConnectionSetup
from sim.components.control_plane import ControlPlane
from sim.components.database import Database
from sim.components.discovery import ClusterDns, Discovery
from sim.components.inference_server import LLMServer
from sim.components.load_balancer import LoadBalancer
from sim.components.network import Network
from sim.components.plain_server import PlainServer
from sim.components.startup import StartupQueries
from sim.engine.distributions import Deterministic, Exponential, Gamma, Sampler, UniformSampler, from_spec
from sim.engine.traces import replay_trace
from sim.engine.world import World
from sim.resilience.policies.retry import RetryPolicy
from sim.spec.inventory import inventory, replica_zone
from sim.spec.scenario import Scenario
from sim.spec.topology import LLMServerSpec


@dataclass
class Stack:
    """The wired components of one run, by kind and by name."""

    clients: list[Client] = field(default_factory=list)
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    caches: list[Cache] = field(default_factory=list)
    discovery: Discovery | None = None
    by_name: dict[str, Any] = field(default_factory=dict)
    mechanisms: dict[str, Any] = field(default_factory=dict)
    """Pool-level mechanisms by name (``autoscaler:<pool>``, ``rollout:<pool>``, ``liveness:<pool>``, ...)."""
    provisioners: dict[str, Any] = field(default_factory=dict)
    """Per pool, the path that adds replicas (provisioning, model load): the autoscaler's and operators'."""



class PoolPeers:
    """The other replicas of a replica's pool, in pool order: one shared tuple of the pool's names and the
    replica's own name to skip, so a pool of n replicas costs O(n) to wire, not n x n names."""

    __slots__ = ("_names", "_own")

    def __init__(self, names: tuple[str, ...], own: str):
        self._names = names
        self._own = own

    def __iter__(self) -> Iterator[str]:
        own = self._own
        return (n for n in self._names if n != own)

    def __len__(self) -> int:
        return len(self._names) - (self._own in self._names)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, PoolPeers)) else NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))


def connection_wiring(world: World, db: Any) -> dict[str, Any]:
    """A database's on-demand connections (``databases[].connections``): the setup queue and the callers'
    connect retries; nothing when the pool is always open."""
    spec = db.connections
    if spec is None:
        return {}
    setup = ConnectionSetup(world, Sampler(Deterministic(spec.setup_s), world.streams.get(db.name, "connection_setup")),
                            spec.cpus, spec.connect_timeout_s)
    return {"connections": setup, "connect_retry": RetryPolicy(spec.retry, world.streams.get(db.name, "connect_retry")),
            "connect_attempts": spec.retry.max_attempts, "pool_min": spec.pool_min}


def build_stack(scenario: Scenario, world: World) -> Stack:
    """Create every component with its policies and its own random streams, and start them."""
    topo = scenario.topology
    policies = scenario.policies
    streams = world.streams
    default_zone = topo.zones[0]
    world.network = Network(topo.network, topo.zones)
    stack = Stack()

    for db in topo.databases:
        comp = Database(world, db.name, db.zone or default_zone, db.pool_size, db.queue_capacity,
                        db.connect_timeout_s, Sampler(from_spec(db.service_time_s), streams.get(db.name, "service")),
                        **connection_wiring(world, db))
        stack.databases.append(comp)
        stack.by_name[db.name] = comp
    for cache in topo.caches:
        comp = Cache(world, cache.name, cache.zone or default_zone, stack.by_name[cache.database], cache.key_space,
                     cache.ttl_s, cache.lookup_s, build_shards(world, cache.name, cache))
        stack.caches.append(comp)
        stack.by_name[cache.name] = comp

    pools = {p.name: p for p in topo.pools}
    by_pool: dict[str, list[Any]] = {}

    def make_server(pool: Any, name: str, zone: str) -> Any:
        spec = pool.server
        wiring: dict[str, Any] = {"policies": server_policies(pool, policies, world)}
        if pool.database is not None:
            wiring["dependency"] = stack.by_name[pool.database]
            wiring["dependency_calls"] = pool.db_calls_per_request
        if isinstance(spec, LLMServerSpec):
            server: Any = LLMServer(world, name, pool.name, zone, spec, **wiring)
        else:
            service = Sampler(from_spec(spec.service_time_s), streams.get(name, "service"))
            server = PlainServer(world, name, pool.name, zone, spec.queue_capacity, spec.model_load_s,
                                 spec.concurrency, service, **wiring)
        if pool.startup is not None:
            server.startup = StartupQueries(server, stack.by_name[pool.startup.database], pool.startup,
                                            startup_retry(pool.startup.retry, world, name))
        if pool.memory is not None:
            server.set_memory(pool.memory)
        server.models = None if pool.models is None else frozenset(pool.models)
        stack.servers.append(server)
        stack.by_name[name] = server
        return server

    def make_replica(pool: Any, index: int) -> Any:
        """A replica added at run time (autoscaling); peers are not updated (blame only)."""
        server = make_server(pool, f"{pool.name}-{index}", replica_zone(pool.zones or [default_zone], index))
        server.peers = [s.name for s in by_pool[pool.name]]
        return server

    for info in inventory(scenario):
        if info.kind != "server":
            continue
        pool = pools[info.pool]
        by_pool.setdefault(pool.name, []).append(make_server(pool, info.name, info.zone))
    for members in by_pool.values():
        names = tuple(s.name for s in members)
        for s in members:
            s.peers = PoolPeers(names, s.name)

    class_of_client = {c.name: c.client_class or c.name for c in scenario.workload.clients}
    for lb in topo.load_balancers:
        zone = lb.zone or default_zone
        servers = [s for pool in lb.upstream for s in by_pool[pool]]
        comp = LoadBalancer(world, lb.name, zone, servers,
                            balancer_policies(lb, policies, world, zone, by_pool, class_of_client))
        stack.load_balancers.append(comp)
        stack.by_name[lb.name] = comp
    show_zones(stack.load_balancers, topo.load_balancers)

    if topo.discovery is not None:
        stack.discovery = Discovery(world, "discovery", topo.discovery.ttl_s)
        stack.by_name["discovery"] = stack.discovery
        if topo.discovery.control_plane is not None:
            cp = ControlPlane(world, "control-plane", topo.discovery.control_plane,
                              lambda: sum(1 for s in stack.servers if s.state != "down"))
            cp.dependents.append(stack.discovery)
            stack.discovery.control_plane = cp
            stack.discovery.record_ttl_s = topo.discovery.control_plane.record_ttl_s
            stack.by_name["control-plane"] = cp
    for spec_cp in topo.control_planes:
        cluster = frozenset(spec_cp.pools)

        def members(cluster: frozenset[str] = cluster) -> list[Any]:
            return [s for s in stack.servers if s.pool in cluster]

        cp = ControlPlane(world, spec_cp.name, spec_cp, lambda members=members: sum(
            1 for s in members() if s.state != "down"), pools=cluster)
        cp.zone = (pools[spec_cp.pools[0]].zones or [default_zone])[0]
        cp.dependents.append(ClusterDns(world, spec_cp.name, spec_cp.record_ttl_s, members))
        stack.by_name[spec_cp.name] = cp

    records = DnsRecords(world)
    for spec_c in scenario.workload.clients:
        balancers = [stack.by_name[t] for t in spec_c.target]
        client = Client(
            world, spec_c.name, spec_c.zone, balancers, spec_c.users,
            Sampler(from_spec(spec_c.prompt_tokens), streams.get(spec_c.name, "prompt_tokens")),
            Sampler(from_spec(spec_c.output_tokens), streams.get(spec_c.name, "output_tokens")),
            spec_c.timeout_s, client_retry(spec_c, policies, world), spec_c.cancel_on_timeout,
            stack.discovery, topo.discovery.ttl_s if topo.discovery else 0.0,
            policies=client_policies(spec_c, policies, world, topo.discovery, balancers, records),
        )
        if spec_c.model_mix:
            client.set_model_mix(list(spec_c.model_mix), list(spec_c.model_mix.values()),
                                 UniformSampler(streams.get(spec_c.name, "model")))
        stack.clients.append(client)
        stack.by_name[spec_c.name] = client
        arrival = spec_c.arrival
        if arrival.kind == "trace":
            client.start_trace(replay_trace(arrival, streams, spec_c.name), arrival.time_scale, arrival.loop,
                               arrival.use_trace_tokens)
        else:
            unit = Exponential(1.0) if arrival.kind == "poisson" else Gamma(1.0, arrival.cv)
            client.start_rate(arrival.rate_rps, [(s.at_s, s.rate_rps) for s in arrival.schedule],
                              Sampler(unit, streams.get(spec_c.name, "arrivals")))

    world.components = stack.by_name
    for lb in stack.load_balancers:
        lb.start()
    stack.mechanisms = start_controllers(scenario, world, stack, by_pool, make_replica)
    return stack
