"""The whole scenario, and the cross-reference checks that field-level validation cannot do."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from pydantic import Field

from sim.spec.common import StrictModel
from sim.spec.faults import FaultSpec
from sim.spec.monitoring import MonitoringSpec, alert_rules, check_monitoring
from sim.spec.policies import PoliciesSpec
from sim.spec.response import ResponseSpec, check_response
from sim.spec.run import RunSpec
from sim.spec.slo import SLOSpec
from sim.spec.topology import TopologySpec
from sim.spec.workload import WorkloadSpec


class Scenario(StrictModel):
    """A validated scenario: topology, workload, faults, policies, SLO and run settings."""

    name: str = Field(
        "scenario", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Name of the scenario; names the run directory.",
    )
    description: str = Field("", description="What the scenario shows, in words (shown in the report).")
    topology: TopologySpec = Field(
        description="The serving stack: zones, network, load balancers, pools, databases, caches, discovery."
    )
    workload: WorkloadSpec = Field(description="The client populations and what they send.")
    faults: list[FaultSpec] = Field(
        default_factory=list, description="What breaks, where and when; each fault by kind."
    )
    policies: PoliciesSpec = Field(
        default_factory=PoliciesSpec,
        description="Scenario-wide defaults of the resilience policies; a component's own field overrides them.",
    )
    slo: SLOSpec = Field(default_factory=SLOSpec, description="The steady-state hypothesis the run is judged against.")
    monitoring: MonitoringSpec = Field(
        default_factory=MonitoringSpec,
        description="Alert rules and scheduled operator actions (marks on the incident timeline).",
    )
    response: ResponseSpec | None = Field(
        None, description="Operators: which alerts page the on-call, how fast people respond, and the runbook "
                          "actions they take (null: nobody acts; monitoring.mitigations stay words).",
    )
    run: RunSpec = Field(default_factory=RunSpec, description="Duration, warm-up, seed and metric resolution.")


MAX_PROBLEM_CHARS = 600


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (dotted path) and why."""

    path: str
    reason: str

    def __post_init__(self) -> None:
        # One line, of readable length, whatever input a reason echoes (a 10 KB unknown kind, a newline).
        for name in ("path", "reason"):
            text = " ".join(str(getattr(self, name)).split())
            object.__setattr__(self, name, text if len(text) <= MAX_PROBLEM_CHARS else
                               text[: MAX_PROBLEM_CHARS - 5] + " ...")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


BUILTIN_TRACE_NAMES = ("azure_code", "azure_conv", "mooncake_conv")


def _check_trace_path(path: str, where: str) -> list[Problem]:
    if path.startswith("builtin:"):
        name = path[len("builtin:") :]
        if name not in BUILTIN_TRACE_NAMES:
            return [Problem(where, f"unknown built-in trace '{name}' (known: {', '.join(BUILTIN_TRACE_NAMES)})")]
        return []
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return [Problem(where, f"no such trace file '{path}'")]
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a pipe, device or socket)"
        return [Problem(where, f"'{path}' is {what}, not a trace file")]
    return []


def model_served(scenario: Scenario, targets: list[str], model: str) -> bool:
    """Whether a pool behind one of these load balancers serves the model (a pool without models serves all)."""
    pools = {p.name: p for p in scenario.topology.pools}
    for lb in scenario.topology.load_balancers:
        if lb.name in targets:
            for name in lb.upstream:
                pool = pools.get(name)
                if pool is not None and (pool.models is None or model in pool.models):
                    return True
    return False


def check_references(scenario: Scenario) -> list[Problem]:
    """Names that must exist or fit in the run; returns every problem found (uniqueness: sim.spec.names)."""
    problems: list[Problem] = []
    topo = scenario.topology
    zones = set(topo.zones)

    def zone_ok(zone: str | None, path: str) -> None:
        if zone is not None and zone not in zones:
            problems.append(Problem(path, f"unknown zone '{zone}' (zones: {', '.join(topo.zones)})"))

    for i, link in enumerate(topo.network.links):
        for j, zone in enumerate(link.zones):
            zone_ok(zone, f"topology.network.links[{i}].zones[{j}]")
    pools = {p.name for p in topo.pools}
    lbs = {lb.name for lb in topo.load_balancers}
    dbs = {d.name for d in topo.databases}
    caches = {c.name for c in topo.caches}
    for i, lb in enumerate(topo.load_balancers):
        zone_ok(lb.zone, f"topology.load_balancers[{i}].zone")
        for j, up in enumerate(lb.upstream):
            if up not in pools:
                problems.append(Problem(f"topology.load_balancers[{i}].upstream[{j}]", f"no pool named '{up}'"))
    for i, pool in enumerate(topo.pools):
        for j, zone in enumerate(pool.zones or []):
            zone_ok(zone, f"topology.pools[{i}].zones[{j}]")
        if pool.database is not None and pool.database not in dbs | caches:
            problems.append(Problem(f"topology.pools[{i}].database", f"no database or cache named '{pool.database}'"))
    for i, db in enumerate(topo.databases):
        zone_ok(db.zone, f"topology.databases[{i}].zone")
    for i, cache in enumerate(topo.caches):
        zone_ok(cache.zone, f"topology.caches[{i}].zone")
        if cache.database not in dbs:
            problems.append(Problem(f"topology.caches[{i}].database", f"no database named '{cache.database}'"))
    for i, client in enumerate(scenario.workload.clients):
        zone_ok(client.zone, f"workload.clients[{i}].zone")
        for j, target in enumerate(client.target):
            if target not in lbs:
                problems.append(Problem(f"workload.clients[{i}].target[{j}]", f"no load balancer named '{target}'"))
        arrival = client.arrival
        if arrival.kind == "trace":
            problems.extend(_check_trace_path(arrival.path, f"workload.clients[{i}].arrival.path"))
        for model in client.model_mix or {}:
            if not model_served(scenario, client.target, model):
                problems.append(Problem(f"workload.clients[{i}].model_mix.{model}",
                                        f"no pool behind {', '.join(client.target)} serves model '{model}'"))
        for j, step in enumerate(getattr(arrival, "schedule", [])):
            if step.at_s >= scenario.run.duration_s:
                problems.append(
                    Problem(f"workload.clients[{i}].arrival.schedule[{j}].at_s", "step starts after the run ends")
                )
    fault_ids: set[str] = set()
    for i, fault in enumerate(scenario.faults):
        if fault.id in fault_ids:
            problems.append(Problem(f"faults[{i}].id", f"fault id '{fault.id}' is used twice"))
        fault_ids.add(fault.id)
        if fault.at_s >= scenario.run.duration_s:
            problems.append(Problem(f"faults[{i}].at_s", f"starts at {fault.at_s} s, after the run ends"))
        elif fault.duration_s is not None and fault.at_s + fault.duration_s > scenario.run.duration_s:
            problems.append(Problem(f"faults[{i}].duration_s", "the fault window ends after the run ends"))
        else:
            window_s = fault.duration_s if fault.duration_s is not None else scenario.run.duration_s - fault.at_s
            ramp_s = getattr(fault, "ramp_s", 0.0)
            if ramp_s > window_s:
                problems.append(Problem(f"faults[{i}].ramp_s",
                                        f"{ramp_s:g} s is longer than the fault's window ({window_s:g} s)"))
    problems.extend(_check_rate_limit_classes(scenario))
    problems.extend(Problem(path, reason) for path, reason in
                    check_monitoring(scenario.monitoring, fault_ids, scenario.run.duration_s))
    problems.extend(Problem(path, reason) for path, reason in _check_response(scenario))
    return problems


def _check_response(scenario: Scenario) -> list[tuple[str, str]]:
    """The response section's names: alerts (rules, derived rules, the probe), faults, pools, load balancers."""
    rules, _ = alert_rules(scenario.monitoring, scenario.slo)
    names = {r.name for r in rules}
    if scenario.monitoring.quality_probe is not None:
        names.add(scenario.monitoring.quality_probe.name)
    topo = scenario.topology
    return check_response(scenario.response, names, {f.id: f.kind for f in scenario.faults},
                          {p.name for p in topo.pools}, {lb.name for lb in topo.load_balancers},
                          scenario.run.duration_s, set(topo.zones),
                          {d.name: d.replica is not None for d in topo.databases}, _control_plane_names(scenario),
                          {lb.name for lb in topo.load_balancers
                           if (lb.balancing or scenario.policies.balancing).kind == "zone_aware"},
                          {c.name: c.shard_concurrency is not None for c in topo.caches})


def _control_plane_names(scenario: Scenario) -> set[str]:
    """Names of the scenario's control planes: discovery's ("control-plane") and the clusters' own."""
    topo = scenario.topology
    names = {cp.name for cp in getattr(topo, "control_planes", [])}
    if topo.discovery is not None and topo.discovery.control_plane is not None:
        names.add("control-plane")
    return names


def _check_rate_limit_classes(scenario: Scenario) -> list[Problem]:
    """Every rate-limit class names a client class (a typo would silently limit nobody)."""
    known = sorted({c.client_class or c.name for c in scenario.workload.clients})
    limits = [("policies.rate_limit", scenario.policies.rate_limit)] + [
        (f"topology.load_balancers[{i}].rate_limit", lb.rate_limit)
        for i, lb in enumerate(scenario.topology.load_balancers) if lb.rate_limit is not None
    ]
    problems = []
    for where, limit in limits:
        for name in limit.classes:
            if name not in known:
                problems.append(Problem(f"{where}.classes.{name}",
                                        f"no client has class '{name}' (client classes: {', '.join(known)})"))
    return problems
