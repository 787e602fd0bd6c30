"""Policy specs: switchable from YAML, defaults documented, bad input rejected with a path, old scenarios unchanged."""

from __future__ import annotations

import copy

import pytest

from sim.experiment.run import run
from sim.spec.loader import ScenarioError, parse_scenario

BASE = {
    "name": "spec",
    "topology": {"load_balancers": [{"name": "lb", "upstream": ["p"]}],
                 "pools": [{"name": "p", "replicas": 3, "server": {"mode": "plain", "concurrency": 1}}]},
    "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1.5}}]},
    "run": {"duration_s": 60, "seed": 2},
}


def with_(path: list, value) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return data


def test_every_policy_field_documents_its_default():
    from pydantic import BaseModel

    from sim.spec import policies

    missing = [f"{name}.{field}" for name, model in vars(policies).items()
               if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == policies.__name__
               for field, info in model.model_fields.items() if not info.description]
    assert missing == []


@pytest.mark.parametrize(("section", "value"), [
    ("retry", {"jitter": "decorrelated", "budget": {}, "token_bucket": {}, "layer": "both"}),
    ("balancing", {"kind": "zone_aware", "failover": False}),
    ("liveness", {"enabled": True}),
    ("outlier_detection", {"enabled": True, "consecutive_5xx": 3}),
    ("panic", {"enabled": True}),
    ("circuit_breaker", {"enabled": True}),
    ("shedding", {"discipline": "codel", "priority": True}),
    ("deadline", {"propagate": True}),
    ("throttling", {"enabled": True, "k": 1.5}),
    ("rate_limit", {"enabled": True, "classes": {"c": {"rate_rps": 1, "burst": 2}}}),
])
def test_every_policy_is_switchable_from_yaml_and_runs(section, value):
    scenario = parse_scenario(with_(["policies", section], value))
    result = run(scenario)
    assert result.summary["accounting"]["balanced"]


@pytest.mark.parametrize(("path", "value", "where"), [
    (["policies", "retry", "jitter"], "sometimes", "policies.retry.jitter"),
    (["policies", "outlier_detection", "max_ejection_percent"], 150, "policies.outlier_detection.max_ejection_percent"),
    (["policies", "shedding", "discipline"], "random", "policies.shedding.discipline"),
    (["policies", "circuit_breaker", "window"], 5, "policies.circuit_breaker.window"),
])
def test_bad_policy_input_is_one_clear_line(path, value, where):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(with_(path, value))
    assert str(err.value).startswith(f"{where}:")


def test_component_fields_override_the_policies_default():
    data = with_(["policies", "shedding"], {"discipline": "lifo"})
    data["topology"]["pools"][0]["shedding"] = {"discipline": "fifo"}
    data["topology"]["load_balancers"][0]["outlier_detection"] = {"enabled": True}
    scenario = parse_scenario(data)
    from sim.assembly import build_stack
    from sim.engine.world import World

    stack = build_stack(scenario, World(1, 10.0, 1.0, 0.0))
    assert stack.by_name["p-0"].admission is None, "the pool's fifo wins over policies.shedding"
    assert stack.by_name["lb"].outlier is not None


def test_mechanisms_off_by_default_leave_a_run_unchanged():
    """Setting every off-by-default policy explicitly to its default gives the same bytes."""
    explicit = with_(["policies"], {
        "liveness": {"enabled": False}, "outlier_detection": {"enabled": False}, "panic": {"enabled": False},
        "circuit_breaker": {"enabled": False}, "shedding": {"discipline": "fifo"}, "deadline": {"propagate": False},
        "throttling": {"enabled": False}, "rate_limit": {"enabled": False},
    })
    a = run(parse_scenario(BASE)).summary
    b = run(parse_scenario(explicit)).summary
    assert a == b
    scenario = parse_scenario(BASE)
    from sim.assembly import build_stack
    from sim.engine.world import World

    stack = build_stack(scenario, World(1, 10.0, 1.0, 0.0))
    lb = stack.by_name["lb"]
    assert lb.outlier is None and lb.retry is None and lb.fallback is None and lb.rate_limiter is None
    assert stack.by_name["p-0"].admission is None and stack.mechanisms == {}


def test_fallback_pool_must_exist():
    data = copy.deepcopy(BASE)
    data["topology"]["load_balancers"][0]["fallback"] = {"pool": "nope"}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert str(err.value) == "topology: load_balancers[0].fallback.pool: no pool named 'nope'"


def test_teaching_scenarios_validate():
    from pathlib import Path

    from sim.spec.loader import load_scenario

    paths = sorted((Path(__file__).parents[2] / "scenarios" / "teaching").glob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        assert load_scenario(path).name == path.stem


def test_every_mechanism_at_once_on_llm_replicas_keeps_accounting_and_determinism():
    """LLM servers with an admission queue (preemption re-queues), autoscaling on KV cache, and the rest."""
    import json

    data = {
        "topology": {
            "zones": ["zone-a", "zone-b"],
            "load_balancers": [{"name": "lb", "upstream": ["gpu"], "outlier_detection": {"enabled": True},
                                "balancing": {"kind": "zone_aware"}, "panic": {"enabled": True},
                                "fallback": {"pool": "small", "cached_answer_ratio": 0.1},
                                "retry": {"layer": "both", "budget": {}}}],
            "pools": [{"name": "gpu", "replicas": 3, "zones": ["zone-a", "zone-b"],
                       "server": {"mode": "llm", "model_load_s": 20, "queue_capacity": 32, "kv_cache_tokens": 20000},
                       "database": "db", "shedding": {"discipline": "adaptive_lifo", "priority": True},
                       "deadline": {"propagate": True}, "liveness": {"enabled": True},
                       "circuit_breaker": {"enabled": True, "minimum_number_of_calls": 20, "sliding_window_size": 20},
                       "autoscaling": {"enabled": True, "metric": "kv_cache", "target": 0.5, "max_replicas": 6,
                                       "provisioning_delay_s": 10}},
                      {"name": "small", "replicas": 1, "server": {"mode": "llm", "model_load_s": 0}}],
            "databases": [{"name": "db"}],
        },
        "workload": {"clients": [
            {"name": "paid", "target": ["lb"], "priority": 1, "timeout_s": 20, "overall_timeout_s": 40,
             "arrival": {"kind": "poisson", "rate_rps": 4, "schedule": [{"at_s": 60, "rate_rps": 12}]}},
            {"name": "free", "target": ["lb"], "timeout_s": 20, "throttling": {"enabled": True},
             "arrival": {"kind": "poisson", "rate_rps": 4}}]},
        "run": {"duration_s": 200, "seed": 1, "bucket_s": 5},
    }
    first = run(parse_scenario(data))
    second = run(parse_scenario(data))
    assert first.summary["accounting"]["balanced"]
    assert json.dumps(first.summary, sort_keys=True) == json.dumps(second.summary, sort_keys=True)
    assert first.summary["measured"]["outcomes"]["success"] > 0
