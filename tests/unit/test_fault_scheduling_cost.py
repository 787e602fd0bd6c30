"""Scheduling faults costs O(faults + components): the fault inventory is built and indexed once."""

from __future__ import annotations

from sim.assembly import build_stack
from sim.engine.world import World
from sim.faults import schedule_faults
from sim.spec import inventory as inventory_module
from sim.spec.loader import parse_scenario

REPLICAS = 512
FAULTS = 200


def scenario_with_faults(faults: int):
    return parse_scenario({
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["gpu"]}],
                     "pools": [{"name": "gpu", "replicas": REPLICAS, "server": {"mode": "plain"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1}}]},
        "faults": [{"id": f"f{i}", "kind": "crash", "target": {"name": f"gpu-{(7 * i) % REPLICAS}"}, "at_s": 1 + i % 50,
                    "restart": True, "restart_delay_s": 10} for i in range(faults)]
        + [{"id": "half", "kind": "latency_inflation", "target": {"pool": "gpu", "percent": 50}, "at_s": 5,
            "duration_s": 10, "slow_factor": 2}],
        "run": {"duration_s": 60},
    })


def test_scheduling_examines_each_component_a_bounded_number_of_times(monkeypatch):
    scenario = scenario_with_faults(FAULTS)
    world = World(1, 60.0, 1.0, 0.0)
    stack = build_stack(scenario, world)
    examined = {"matches": 0, "inventories": 0}
    real_matches, real_inventory = inventory_module.matches, inventory_module.inventory

    def counted_matches(target, info):
        examined["matches"] += 1
        return real_matches(target, info)

    def counted_inventory(s):
        examined["inventories"] += 1
        return real_inventory(s)

    monkeypatch.setattr(inventory_module, "matches", counted_matches)
    monkeypatch.setattr(inventory_module, "inventory", counted_inventory)
    ledger = schedule_faults(scenario, stack, world)
    assert examined["inventories"] == 1, "one inventory for all the faults"
    # each name-targeted fault looks at its one component, the pool-wide one at the pool
    assert examined["matches"] == FAULTS + REPLICAS
    world.env.run(until=55.0)
    started = {e["fault"] for e in ledger.log if e["event"] == "start"}
    assert len(started) == FAULTS + 1, "every fault fired on the targets it was given"
    assert next(e for e in ledger.log if e["fault"] == "f3")["targets"] == ["gpu-21"]
    assert len(next(e for e in ledger.log if e["fault"] == "half")["targets"]) == REPLICAS // 2


def test_wiring_peers_is_linear_in_the_pool():
    """Each replica's peers (for load-shift blame) are the pool's other replicas, in pool order, read from one
    tuple shared by the pool: O(n) names per pool, not n x n."""
    scenario = scenario_with_faults(0)
    stack = build_stack(scenario, World(1, 60.0, 1.0, 0.0))
    pool = [stack.by_name[f"gpu-{i}"] for i in range(REPLICAS)]
    assert list(pool[3].peers) == [f"gpu-{i}" for i in range(REPLICAS) if i != 3]
    assert len(pool[0].peers) == REPLICAS - 1
    shared = {id(s.peers._names) for s in pool}
    assert len(shared) == 1, "one tuple of names for the whole pool"
