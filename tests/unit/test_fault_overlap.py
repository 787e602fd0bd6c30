"""Two faults of one kind, B inside A: B's end must leave A's effect in place; and the faults that used to
reach too far or too little (poison beyond its targets' clients, a zone outage naming no targets, a
fleet-wide change that could not find a control plane of another name).

Each test reads the component mid-run (``probe``) and compares with what the faults' windows say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.assembly import build_stack
from sim.engine.world import World
from sim.faults import FAULTS, FaultContext, schedule_faults
from sim.spec.loader import parse_scenario
from tests.helpers import merge
from tests.unit.test_faults import FULL_STACK


def probe(data: dict, at_s: list[float], read: Callable[[Any], Any],
          edit: Callable[[Any], None] | None = None) -> tuple[list[Any], Any, World]:
    """Run ``data``; ``read(stack)`` at each time in ``at_s``; returns the readings, the stack and the world."""
    scenario = parse_scenario(data)
    world = World(scenario.run.seed, scenario.run.duration_s, scenario.run.bucket_s, scenario.run.warmup_s)
    stack = build_stack(scenario, world)
    if edit is not None:
        edit(stack)
    schedule_faults(scenario, stack, world)
    seen: list[Any] = []
    for t in at_s:
        world.call_later(t, lambda: seen.append(read(stack)))
    world.env.run(until=scenario.run.duration_s)
    return seen, stack, world


def nested(kind: str, a: dict, b: dict, target: dict | None = None) -> list[dict]:
    """Fault A over [10, 60), fault B of the same kind over [20, 40)."""
    target = target or {"name": "p-0"}
    return [{"id": "A", "kind": kind, "target": target, "at_s": 10, "duration_s": 50, **a},
            {"id": "B", "kind": kind, "target": target, "at_s": 20, "duration_s": 20, **b}]


def test_kv_cache_exhaustion_inside_another_keeps_the_outer_one_after_it_ends():
    data = merge(FULL_STACK, {"faults": nested("kv_cache_exhaustion", {"kv_cache_fraction": 0.5},
                                               {"kv_cache_fraction": 0.25})})
    seen, _, _ = probe(data, [15, 30, 50, 70], lambda st: st.by_name["p-0"].kv_capacity)
    assert seen == [4000, 2000, 4000, 8000], "the smallest usable share wins; B's end leaves A's"


def test_poison_request_inside_another_keeps_the_outer_one_after_it_ends():
    data = merge(FULL_STACK, {"faults": nested("poison_request", {"poison_percent": 5, "restart_delay_s": 1},
                                               {"poison_percent": 10, "restart_delay_s": 1})})
    seen, _, _ = probe(data, [15, 30, 50, 70], lambda st: st.by_name["c"].poison_probability)
    assert seen == pytest.approx([0.05, 0.15, 0.05, 0.0])


def test_memory_leak_inside_another_keeps_leaking_after_it_ends():
    leak = {"memory_limit_mb": 1e9, "baseline_mb": 0, "leak_mb_per_request": 0, "leak_mb_per_s": 1}
    data = merge(FULL_STACK, {"faults": nested("memory_leak", leak, {**leak, "leak_mb_per_s": 2})})
    seen, _, _ = probe(data, [45, 55], lambda st: st.by_name["p-0"].memory_mb())
    assert seen[1] - seen[0] == pytest.approx(10.0), "A still leaks 1 MB/s after B's end"


def test_dns_failure_inside_another_keeps_discovery_down_after_it_ends():
    data = merge(FULL_STACK, {"faults": nested("dns_failure", {}, {}, {"name": "discovery"})})
    seen, _, _ = probe(data, [15, 30, 50, 70], lambda st: st.discovery.available)
    assert seen == [False, False, False, True]


TWO_SERVICES = {
    "name": "two-services",
    "topology": {
        "zones": ["a"],
        "load_balancers": [{"name": "lb-p", "upstream": ["p"]}, {"name": "lb-q", "upstream": ["q"]}],
        "pools": [{"name": "p", "replicas": 2, "server": {"mode": "plain"}},
                  {"name": "q", "replicas": 2, "server": {"mode": "plain"}}],
    },
    "workload": {"clients": [
        {"name": "cp", "target": ["lb-p"], "arrival": {"kind": "poisson", "rate_rps": 5}},
        {"name": "cq", "target": ["lb-q"], "arrival": {"kind": "poisson", "rate_rps": 5}},
    ]},
    "faults": [{"id": "poison", "kind": "poison_request", "target": {"pool": "p"}, "at_s": 10, "duration_s": 20,
                "poison_percent": 5}],
    "run": {"duration_s": 40, "seed": 1},
}


def test_poison_request_comes_only_from_the_clients_of_its_targets():
    seen, _, _ = probe(TWO_SERVICES, [20], lambda st: (st.by_name["cp"].poison_probability,
                                                       st.by_name["cq"].poison_probability))
    assert seen == [(0.05, 0.0)], "clients of pool q do not send pool p's poison"


def test_zone_outage_names_its_targets():
    data = merge(FULL_STACK, {"faults": [{"id": "z", "kind": "zone_outage", "zone": "b", "at_s": 20,
                                          "duration_s": 30}]})
    _, stack, world = probe(data, [], lambda st: None)
    in_zone = sorted(name for name, c in stack.by_name.items() if getattr(c, "zone", None) == "b"
                     and c.kind in ("server", "load_balancer", "database", "cache"))
    assert in_zone == ["db", "p-1", "p-3"]
    log = world.faults.log if getattr(world, "faults", None) is not None else world.fault_log
    assert [sorted(e["targets"]) for e in log] == [in_zone, in_zone]


def test_fleet_change_finds_the_control_plane_whatever_its_name():
    def rename(stack: Any) -> None:
        stack.by_name["api-servers"] = stack.by_name.pop("control-plane")

    data = merge(FULL_STACK, {"faults": [{"id": "fc", "kind": "fleet_change", "target": {"pool": "p"}, "at_s": 10,
                                          "duration_s": 20, "ops_per_node_s": 5, "cost": "linear"}]})
    seen, _, _ = probe(data, [5, 20, 40], lambda st: st.by_name["api-servers"].load_ops_s(), edit=rename)
    assert seen[1] - seen[0] == pytest.approx(5 * 4) and seen[2] == pytest.approx(seen[0])


def test_a_fault_reaches_nothing_but_its_port():
    """A fault context built by hand: the fault works on any component offering the port."""
    data = merge(FULL_STACK, {"run": {"duration_s": 5}})
    scenario = parse_scenario(data)
    world = World(1, 5.0, 1.0, 0.0)
    stack = build_stack(scenario, world)
    spec = parse_scenario(merge(data, {"faults": [{"id": "slow", "kind": "latency_inflation",
                                                   "target": {"name": "p-0"}, "at_s": 1}]})).faults[0]
    fault = FAULTS.create("latency_inflation", FaultContext(world, stack, spec, [stack.by_name["p-0"]]))
    fault.start()
    assert stack.by_name["p-0"].slow_factor == spec.slow_factor
    fault.stop()
    assert stack.by_name["p-0"].slow_factor == 1.0 and stack.by_name["p-0"].effects.neutral()
