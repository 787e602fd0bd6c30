"""Fault targeting costs what the faults match, not faults x components (validation and target resolution)."""

from __future__ import annotations

import pytest

import sim.spec.inventory as inventory
from sim import parse_scenario_text
from sim.spec.inventory import TargetIndex, candidates, fault_candidates, fault_inventory


def scenario_text(replicas: int, faults: int, selector: str = "name") -> str:
    def target(i: int) -> str:
        if selector == "name":
            return f"{{name: gpu-{i % replicas}}}"
        return "{pool: small, count: 1}"

    lines = "\n".join(f"  - {{id: f{i}, kind: crash, target: {target(i)}, at_s: 10}}" for i in range(faults))
    return f"""
name: many-faults
topology:
  zones: [a, b]
  load_balancers: [{{name: lb, upstream: [gpu, small]}}]
  pools:
    - {{name: gpu, replicas: {replicas}, zones: [a, b], server: {{mode: llm}}}}
    - {{name: small, replicas: 4, server: {{mode: llm}}}}
workload:
  clients: [{{name: users, target: [lb], arrival: {{kind: poisson, rate_rps: 1}}}}]
faults:
{lines}
run: {{duration_s: 60, warmup_s: 0, seed: 1, bucket_s: 10}}
"""


def count_matches(monkeypatch, text: str) -> int:
    calls = [0]
    original = inventory.matches

    def counting(target, info):
        calls[0] += 1
        return original(target, info)

    monkeypatch.setattr(inventory, "matches", counting)
    parse_scenario_text(text)  # validation resolves every fault's targets
    monkeypatch.setattr(inventory, "matches", original)
    return calls[0]


@pytest.mark.parametrize("selector", ["name", "pool"])
def test_validation_work_does_not_grow_with_replicas(monkeypatch, selector):
    """200 faults, each on one named replica or on a small pool: the filter runs on what each selector
    names, so the work is the same with 64 or 1024 replicas in the other pool (it was faults x replicas)."""
    small = count_matches(monkeypatch, scenario_text(64, 200, selector))
    large = count_matches(monkeypatch, scenario_text(1024, 200, selector))
    assert small == large
    assert large <= 200 * (1 if selector == "name" else 4)


def test_index_finds_what_the_scan_finds():
    """Every selector shape gives the same components, in the same order, through the index as by a scan."""
    scenario = parse_scenario_text(scenario_text(16, 1))
    items = fault_inventory(scenario)
    index = TargetIndex(items)
    from sim.spec.faults import TargetSpec

    selectors = [{"name": "gpu-3"}, {"name": "nope"}, {"pool": "gpu"}, {"pool": "small", "zone": "a"},
                 {"zone": "b"}, {"pool": "gpu", "zone": "b"}, {"all": True}, {"name": "lb"}]
    for sel in selectors:
        target = TargetSpec.model_validate(sel)
        for kinds in (("server",), ("load_balancer",), ("server", "load_balancer", "client")):
            assert candidates(target, index, kinds) == candidates(target, items, kinds), sel
    fault = scenario.faults[0]
    assert fault_candidates(scenario, fault, index) == fault_candidates(scenario, fault, items)
