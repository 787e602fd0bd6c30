"""Bad fault specs are rejected with one clear ``faults[i].field: reason`` line each; good ones load."""

from __future__ import annotations

import copy

import pytest

from sim import parse_scenario
from sim.spec.faults import FAULT_MODELS
from sim.spec.loader import ScenarioError

BASE = {
    "topology": {
        "zones": ["a", "b"],
        "discovery": {"ttl_s": 30, "control_plane": {"capacity_ops_s": 1000}},
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
        "pools": [{"name": "p", "replicas": 2, "zones": ["a", "b"], "database": "db",
                   "server": {"mode": "plain"}}],
        "databases": [{"name": "db"}, {"name": "pg", "connections": {}}],
        "caches": [{"name": "kv", "database": "db"}],
    },
    "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1}}]},
    "run": {"duration_s": 100},
}


def problems(*faults: dict, base: dict | None = None) -> list[str]:
    data = copy.deepcopy(base or BASE)
    data["faults"] = list(faults)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    return [str(p) for p in err.value.problems]


def ok(*faults: dict, base: dict | None = None):
    data = copy.deepcopy(base or BASE)
    data["faults"] = list(faults)
    return parse_scenario(data)


CRASH = {"id": "f", "kind": "crash", "target": {"pool": "p"}, "at_s": 10}


@pytest.mark.parametrize(("fault", "expected"), [
    ({"id": "f", "kind": "meteor", "at_s": 1}, "faults[0].kind: unknown fault kind 'meteor' (known: bad_deploy,"),
    ({"id": "f", "at_s": 1}, "faults[0].kind: required field is missing"),
    ({**CRASH, "blast": 3}, "faults[0].blast: unknown key"),
    ({**CRASH, "at_s": -1}, "faults[0].at_s: Input should be greater than or equal to 0"),
    ({**CRASH, "at_s": 100}, "faults[0].at_s: starts at 100.0 s, after the run ends"),
    ({**CRASH, "duration_s": 95}, "faults[0].duration_s: the fault window ends after the run ends"),
    ({**CRASH, "target": {"pool": "nope"}}, "faults[0].target: matches no server in the topology"),
    ({**CRASH, "target": {"pool": "p", "count": 3}}, "faults[0].target.count: asks for 3 but only 2 match"),
    ({**CRASH, "target": {"pool": "p", "count": 1, "percent": 5}}, "faults[0].target: give count or percent"),
    ({**CRASH, "target": {"count": 1}}, "faults[0].target: give at least one of name, pool, zone, labels"),
    ({**CRASH, "kind": "dns_failure"}, "faults[0].target: matches no discovery in the topology"),
    ({**CRASH, "kind": "database_down", "target": {"name": "lb"}}, "faults[0].target: matches no database"),
    ({**CRASH, "kind": "kv_cache_exhaustion"}, "faults[0].target: matches no server of an llm pool"),
    ({**CRASH, "duration_s": 5, "recurring": {"every_s": 5, "count": 3}},
     "faults[0].recurring: every_s must be longer than duration_s (5 s): windows would overlap"),
    ({**CRASH, "recurring": {"every_s": 5, "count": 3}}, "faults[0].recurring: a recurring fault needs duration_s"),
    ({**CRASH, "duration_s": 5, "recurring": {"every_s": 30, "count": 4}},
     "faults[0].recurring.count: the last window ends after the run ends"),
    ({**CRASH, "duration_s": 5, "recurring": {"every_s": 30, "count": 2}, "stochastic": {"mtbf_s": 5, "mttr_s": 1}},
     "faults[0].stochastic: give recurring or stochastic, not both"),
    ({**CRASH, "stochastic": {"mtbf_s": 5, "mttr_s": 1, "distribution": "weibull"}},
     "faults[0].stochastic.shape: required for the weibull distribution"),
    ({**CRASH, "stochastic": {"mtbf_s": 5, "mttr_s": 1, "shape": 2}},
     "faults[0].stochastic.shape: applies to the weibull distribution only"),
    ({**CRASH, "stochastic": {"mtbf_s": 0, "mttr_s": 1}},
     "faults[0].stochastic.mtbf_s: Input should be greater than 0"),
    ({**CRASH, "kind": "error_rate", "error_percent": 150},
     "faults[0].error_percent: Input should be less than or equal to 100"),
    ({**CRASH, "kind": "memory_leak", "baseline_mb": 20000, "memory_limit_mb": 1000},
     "faults[0].baseline_mb: must be below memory_limit_mb (1000)"),
    ({**CRASH, "kind": "memory_leak", "leak_mb_per_request": 0},
     "faults[0].leak_mb_per_s: give leak_mb_per_request or leak_mb_per_s above 0"),
    ({**CRASH, "kind": "surge", "target": {"name": "c"}, "decay_s": 10},
     "faults[0].decay_s: needs duration_s (the decay ends the window)"),
    ({**CRASH, "kind": "surge", "target": {"name": "c"}, "duration_s": 10, "ramp_s": 8, "decay_s": 5},
     "faults[0].decay_s: ramp_s + decay_s must fit in duration_s (10 s)"),
    ({**CRASH, "kind": "surge", "target": {"name": "c"}, "profile": [{"at_s": 5, "multiplier": 2},
                                                                       {"at_s": 1, "multiplier": 3}]},
     "faults[0].profile: points must be in time order"),
    ({**CRASH, "kind": "surge", "target": {"pool": "p"}}, "faults[0].target: matches no client in the topology"),
    ({**CRASH, "kind": "bad_deploy", "bug": {"kind": "typo"}}, "faults[0].bug.kind: "),
    ({**CRASH, "kind": "bad_deploy"}, "faults[0].bug: required field is missing"),
    ({**CRASH, "kind": "config_push", "bug": {"kind": "memory_leak", "baseline_mb": 2000, "memory_limit_mb": 1000}},
     "faults[0].bug.baseline_mb: must be below memory_limit_mb (1000)"),  # checked like the fault
    ({**CRASH, "kind": "bad_deploy", "bug": {"kind": "memory_leak", "leak_mb_per_request": 0}},
     "faults[0].bug.leak_mb_per_s: give leak_mb_per_request or leak_mb_per_s above 0"),
    ({**CRASH, "kind": "bad_deploy", "bug": {"kind": "hang"}, "max_unavailable": 0},
     "faults[0].max_surge: max_unavailable and max_surge cannot both be 0"),
    ({"id": "f", "kind": "network_latency", "zones": ["a", "z"], "at_s": 1}, "faults[0].zones[1]: unknown zone 'z'"),
    ({"id": "f", "kind": "packet_loss", "zones": [], "at_s": 1}, "faults[0].zones: List should have at least 1 item"),
    ({"id": "f", "kind": "partition", "between": ["a", "a"], "at_s": 1}, "faults[0].between: needs two different"),
    ({"id": "f", "kind": "partition", "between": ["a", "lb"], "at_s": 1},
     "faults[0].between: give two zones or two component names that exist"),
    ({"id": "f", "kind": "zone_outage", "zone": "z", "at_s": 1}, "faults[0].zone: unknown zone 'z'"),
    ({"id": "f", "kind": "zone_outage", "at_s": 1}, "faults[0].zone: required field is missing"),
])
def test_bad_fault_is_one_clear_line(fault, expected):
    found = problems(fault)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_duplicate_fault_ids():
    assert problems(CRASH, CRASH) == ["faults[1].id: fault id 'f' is used twice"]


def test_fleet_change_needs_a_control_plane():
    base = copy.deepcopy(BASE)
    del base["topology"]["discovery"]["control_plane"]
    found = problems({**CRASH, "kind": "fleet_change"}, base=base)
    assert found == ["faults[0].kind: fleet_change needs topology.discovery.control_plane "
                     "(or topology.control_planes)"]


def test_control_plane_spec_is_checked():
    base = copy.deepcopy(BASE)
    base["topology"]["discovery"]["control_plane"] = {"capacity_ops_s": 10, "base_ops_s": 50}
    assert problems(base=base) == ["topology.discovery.control_plane: base_ops_s must be below capacity_ops_s"]


EXAMPLES = {
    "surge": {"target": {"name": "c"}, "multiplier": 2, "duration_s": 20, "ramp_s": 5, "decay_s": 5},
    "bot_traffic": {"target": {"name": "c"}},
    "crash": {"target": {"pool": "p"}},
    "gpu_lost": {"target": {"pool": "p"}, "replace_s": 60},
    "ecc_error": {"target": {"pool": "p"}},
    "tp_link_failure": {"target": {"pool": "p"}},
    "thermal_throttle": {"target": {"pool": "p"}, "ramp_s": 10},
    "kv_cache_exhaustion": None,
    "error_rate": {"target": {"pool": "p"}},
    "latency_inflation": {"target": {"pool": "p"}},
    "hang": {"target": {"pool": "p", "count": 1}},
    "poison_request": {"target": {"pool": "p"}},
    "memory_leak": {"target": {"pool": "p"}},
    "wrong_answer": {"target": {"pool": "p"}},
    "network_latency": {"zones": ["a"]},
    "packet_loss": {"zones": ["a", "b"]},
    "partition": {"between": ["lb", "p-1"]},
    "dns_failure": {"target": {"name": "discovery"}},
    "dns_cache_cut": {"target": {"name": "discovery"}},
    "bad_deploy": {"target": {"pool": "p"}, "bug": {"kind": "memory_leak"}},
    "drain": {"target": {"pool": "p", "percent": 50}},
    "config_push": {"target": {"pool": "p"}, "bug": {"kind": "crash_loop"}},
    "os_update": {"target": {"pool": "p", "percent": 50}},
    "fleet_change": {"target": {"pool": "p"}},
    "database_slow": {"target": {"name": "db"}},
    "database_down": {"target": {"name": "db"}},
    "database_failover": {"target": {"name": "db"}},
    "connection_surge": {"target": {"name": "pg"}},
    "cache_flush": {"target": {"name": "kv"}},
    "cache_down": {"target": {"name": "kv"}},
    "control_plane_overload": {"target": {"name": "control-plane"}},
    "control_plane_capacity_loss": {"target": {"name": "control-plane"}},
    "zone_outage": {"zone": "b"},
    "cleanup_job": {"target": {"zone": "b"}},
}


def test_every_kind_has_a_valid_example():
    assert set(EXAMPLES) == set(FAULT_MODELS)
    faults = [{"id": f"f{i}", "kind": kind, "at_s": 10, **fields}
              for i, (kind, fields) in enumerate(EXAMPLES.items()) if fields is not None]
    scenario = ok(*faults)
    assert [f.kind for f in scenario.faults] == [f["kind"] for f in faults]


def test_target_selection_by_label_count_and_percent():
    from sim.assembly import build_stack
    from sim.engine.world import World
    from sim.faults.base import choose_targets

    base = copy.deepcopy(BASE)
    base["topology"]["pools"] = [
        {"name": "p", "replicas": 6, "zones": ["a", "b"], "labels": {"tier": "gold"}, "server": {"mode": "plain"}},
        {"name": "q", "replicas": 3, "zones": ["b"], "server": {"mode": "plain"}},
    ]
    base["topology"]["load_balancers"][0]["upstream"] = ["p", "q"]

    def picked(target: dict, seed: int = 1) -> list[str]:
        scenario = ok({**CRASH, "target": target}, base=base)
        world = World(seed, 100, 1, 0)
        stack = build_stack(scenario, world)
        return [s.name for s in choose_targets(scenario, scenario.faults[0], stack, world)]

    assert picked({"labels": {"tier": "gold"}}) == [f"p-{i}" for i in range(6)]
    assert picked({"zone": "b"}) == ["p-1", "p-3", "p-5", "q-0", "q-1", "q-2"]
    assert len(picked({"pool": "p", "percent": 34})) == 3  # 6 x 34 % = 2.04, rounded up
    two = picked({"pool": "p", "count": 2})
    assert len(two) == 2 and set(two) <= {f"p-{i}" for i in range(6)}
    assert picked({"pool": "p", "count": 2}) == two  # the same seed picks the same targets
    assert len({tuple(picked({"pool": "p", "count": 2}, seed)) for seed in range(1, 9)}) > 1


def test_target_all_takes_every_component_the_kind_acts_on():
    from sim import run

    scenario = ok({"id": "every", "kind": "crash", "target": {"all": True}, "at_s": 5, "restart": False})
    log = run(scenario).fault_log
    assert log[0]["targets"] == ["p-0", "p-1"]
    assert problems({"id": "x", "kind": "crash", "target": {"all": True, "count": 1}, "at_s": 5}) == [
        "faults[0].target: all takes every match: give all, or count / percent, not both"]
    assert problems({"id": "x", "kind": "crash", "target": {}, "at_s": 5}) == [
        "faults[0].target: give at least one of name, pool, zone, labels (or all: true)"]
