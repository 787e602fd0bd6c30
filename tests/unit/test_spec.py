"""Scenario validation: every problem is one ``path: reason`` line naming the exact field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.spec import Scenario, ScenarioError, json_schema, load_scenario, parse_scenario, parse_scenario_text
from sim.spec.paths import scenario_files


def base() -> dict[str, Any]:
    """A small valid scenario touching every section that has cross-references."""
    return {
        "name": "spec-test",
        "topology": {
            "zones": ["a", "b"],
            "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["gpu"]}],
            "pools": [
                {"name": "gpu", "replicas": 2, "zones": ["a", "b"], "server": {"mode": "llm"}, "database": "db"},
                {"name": "cpu", "replicas": 1, "server": {"mode": "plain"}, "database": "cache"},
            ],
            "databases": [{"name": "db", "zone": "a"}],
            "caches": [{"name": "cache", "database": "db"}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1.0}}]},
        "faults": [{"id": "f", "kind": "crash", "target": {"pool": "gpu"}, "at_s": 10, "duration_s": 5}],
        "run": {"duration_s": 100, "warmup_s": 10},
    }


def problems_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert str(info.value) == "\n".join(f"{p.path}: {p.reason}" for p in info.value.problems)
    return [(p.path, p.reason) for p in info.value.problems]


def mutate(fn: Callable[[dict], None]) -> dict:
    d = base()
    fn(d)
    return d


def test_base_is_valid():
    scenario = parse_scenario(base())
    assert isinstance(scenario, Scenario)
    assert scenario.topology.pools[0].replicas == 2


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation setting ``a.b[0].c`` (written as a/b/0/c) to value."""

    def fn(d: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split("/")]
        node = d
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return fn


def _drop(path: str) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split("/")]
        node = d
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return fn


CASES = [
    # unknown keys, at every depth, including inside a union member
    ("unknown top-level key", _set("extra", 1), "extra", "unknown key"),
    ("unknown pool key", _set("topology/pools/0/replicaz", 1), "topology.pools[0].replicaz", "unknown key"),
    ("unknown server key", _set("topology/pools/0/server/bogus", 1), "topology.pools[0].server.bogus", "unknown key"),
    ("unknown arrival key", _set("workload/clients/0/arrival/burst", 1), "workload.clients[0].arrival.burst",
     "unknown key"),
    # wrong types
    ("replicas not an int", _set("topology/pools/0/replicas", "two"), "topology.pools[0].replicas", "integer"),
    ("fractional replicas", _set("topology/pools/0/replicas", 1.5), "topology.pools[0].replicas", "integer"),
    ("duration not a number", _set("run/duration_s", "long"), "run.duration_s", "number"),
    ("section not a mapping", _set("topology", None), "topology", "dictionary"),
    ("upstream not a list", _set("topology/load_balancers/0/upstream", 5), "topology.load_balancers[0].upstream",
     "list"),
    # negative / out-of-range values
    ("negative replicas", _set("topology/pools/0/replicas", -1), "topology.pools[0].replicas",
     "greater than or equal to 1"),
    ("negative rate", _set("workload/clients/0/arrival/rate_rps", -1), "workload.clients[0].arrival.rate_rps",
     "greater than or equal to 0"),
    ("negative schedule rate", _set("workload/clients/0/arrival/schedule", [{"at_s": 5, "rate_rps": -2}]),
     "workload.clients[0].arrival.schedule[0].rate_rps", "greater than or equal to 0"),
    ("zero batch", _set("topology/pools/0/server/max_batch_size", 0), "topology.pools[0].server.max_batch_size",
     "greater than or equal to 1"),
    ("negative service mean", _set("topology/pools/1/server/service_time_s", {"kind": "exponential", "mean": -1}),
     "topology.pools[1].server.service_time_s.mean", "greater than 0"),
    ("negative timeout", _set("workload/clients/0/timeout_s", -3), "workload.clients[0].timeout_s", "greater than 0"),
    ("availability above 1", _set("slo", {"availability": 1.5}), "slo.availability", "less than or equal to 1"),
    ("zero duration", _set("run/duration_s", 0), "run.duration_s", "greater than 0"),
    # union tags
    ("unknown arrival kind", _set("workload/clients/0/arrival/kind", "burst"), "workload.clients[0].arrival.kind",
     "unknown kind 'burst'"),
    ("unknown server mode", _set("topology/pools/0/server/mode", "gpu"), "topology.pools[0].server.mode",
     "unknown mode 'gpu'"),
    ("missing arrival kind", _drop("workload/clients/0/arrival/kind"), "workload.clients[0].arrival.kind",
     "required field is missing"),
    ("gamma without cv", _set("workload/clients/0/arrival", {"kind": "gamma", "rate_rps": 1}),
     "workload.clients[0].arrival.cv", "required field is missing"),
    ("unknown fault kind", _set("faults/0/kind", "meteor"), "faults[0].kind", "crash"),
    # missing sections and fields
    ("missing workload", _drop("workload"), "workload", "required field is missing"),
    ("missing replicas", _drop("topology/pools/0/replicas"), "topology.pools[0].replicas", "required field is missing"),
    # references to components that do not exist
    ("LB upstream pool", _set("topology/load_balancers/0/upstream", ["gpu", "tpu"]),
     "topology.load_balancers[0].upstream[1]", "no pool named 'tpu'"),
    ("client target", _set("workload/clients/0/target", ["lb-9"]), "workload.clients[0].target[0]",
     "no load balancer named 'lb-9'"),
    ("pool database", _set("topology/pools/0/database", "pg"), "topology.pools[0].database",
     "no database or cache named 'pg'"),
    ("cache database", _set("topology/caches/0/database", "pg"), "topology.caches[0].database",
     "no database named 'pg'"),
    ("pool zone", _set("topology/pools/0/zones", ["a", "c"]), "topology.pools[0].zones[1]", "unknown zone 'c'"),
    ("LB zone", _set("topology/load_balancers/0/zone", "c"), "topology.load_balancers[0].zone", "unknown zone 'c'"),
    ("database zone", _set("topology/databases/0/zone", "c"), "topology.databases[0].zone", "unknown zone 'c'"),
    ("client zone", _set("workload/clients/0/zone", "c"), "workload.clients[0].zone", "unknown zone 'c'"),
    ("link zone", _set("topology/network", {"links": [{"zones": ["a", "q"], "latency_ms": 1}]}),
     "topology.network.links[0].zones[1]", "unknown zone 'q'"),
    ("trace file", _set("workload/clients/0/arrival", {"kind": "trace", "path": "/no/such/trace.csv"}),
     "workload.clients[0].arrival.path", "no such trace file"),
    ("builtin trace", _set("workload/clients/0/arrival", {"kind": "trace", "path": "builtin:nope"}),
     "workload.clients[0].arrival.path", "unknown built-in trace 'nope'"),
    # duplicate names
    ("database named like a pool", lambda d: d["topology"]["databases"].append({"name": "gpu"}),
     "topology.databases[1].name", "already used by topology.pools[0].name"),
    ("two clients with one name", lambda d: d["workload"]["clients"].append(copy.deepcopy(d["workload"]["clients"][0])),
     "workload.clients[1].name", "already used"),
    ("zone listed twice", _set("topology/zones", ["a", "b", "a"]), "topology.zones[2]", "listed twice"),
    ("fault id used twice", lambda d: d["faults"].append(copy.deepcopy(d["faults"][0])), "faults[1].id",
     "used twice"),
    # the run's time frame
    ("warmup equals duration", _set("run/warmup_s", 100), "run.warmup_s", "shorter than duration_s"),
    ("warmup after duration", _set("run/warmup_s", 500), "run.warmup_s", "shorter than duration_s"),
    ("too many buckets", _set("run/bucket_s", 1e-5), "run.bucket_s", "too small"),
    ("schedule step after the run", _set("workload/clients/0/arrival/schedule", [{"at_s": 100, "rate_rps": 2}]),
     "workload.clients[0].arrival.schedule[0].at_s", "after the run ends"),
    ("fault starts after the run", _set("faults/0/at_s", 150), "faults[0].at_s", "after the run ends"),
    ("fault window overruns the run", _set("faults/0/duration_s", 95), "faults[0].duration_s", "after the run ends"),
    ("negative fault start", _set("faults/0/at_s", -1), "faults[0].at_s", "greater than or equal to 0"),
    # fault targets
    ("fault target matches nothing", _set("faults/0/target", {"pool": "tpu"}), "faults[0].target",
     "matches no server"),
    ("fault target zone matches nothing", _set("faults/0/target", {"pool": "cpu", "zone": "b"}), "faults[0].target",
     "matches no server"),
    ("fault target count too large", _set("faults/0/target", {"pool": "gpu", "count": 3}), "faults[0].target.count",
     "only 2 match"),
    ("fault target empty", _set("faults/0/target", {}), "faults[0].target", "give at least one of"),
    ("fault target count and percent", _set("faults/0/target", {"pool": "gpu", "count": 1, "percent": 50}),
     "faults[0].target", "not both"),
    # other model-level rules
    ("uniform high below low", _set("topology/pools/1/server/service_time_s", {"kind": "uniform", "low": 2, "high": 1}),
     "topology.pools[1].server.service_time_s", "high must be greater than low"),
    ("bad name", _set("topology/pools/0/name", "gpu pool!"), "topology.pools[0].name", "pattern"),
]


@pytest.mark.parametrize(("mutation", "path", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation_message(mutation, path, reason):
    found = problems_of(mutate(mutation))
    paths = [p for p, _ in found]
    assert path in paths, f"expected a problem at {path}, got {found}"
    why = dict(found)[path]
    assert reason.lower() in why.lower(), f"{path}: {why!r} does not say {reason!r}"
    for p, r in found:
        assert "\n" not in r and "Traceback" not in r
        assert "poisson" not in p.split(".")[-1] and "llm" not in p.split(".")[-1], f"union tag in path {p}"


def test_every_problem_is_reported_at_once():
    d = base()
    d["topology"]["pools"][0]["replicas"] = -1
    d["workload"]["clients"][0]["arrival"]["rate_rps"] = -1
    d["nonsense"] = True
    paths = {p for p, _ in problems_of(d)}
    assert {"topology.pools[0].replicas", "workload.clients[0].arrival.rate_rps", "nonsense"} <= paths

    d = base()
    d["topology"]["load_balancers"][0]["upstream"] = ["tpu"]
    d["workload"]["clients"][0]["target"] = ["nope"]
    paths = {p for p, _ in problems_of(d)}
    assert {"topology.load_balancers[0].upstream[0]", "workload.clients[0].target[0]"} <= paths


def test_non_mapping_scenario():
    for data in ([1, 2], "text", None, 3):
        assert problems_of(data) == [("(scenario)", "a scenario must be a mapping of sections")]


def test_yaml_syntax_error_names_the_line():
    text = "name: x\ntopology:\n  zones: [a, b\nworkload: {}\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "broken.yaml")
    (problem,) = info.value.problems
    assert problem.path == "broken.yaml"
    assert "YAML syntax error at line 4" in problem.reason


def test_yaml_tab_indent_error_names_the_line():
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text("name: x\ntopology:\n\tzones: [a]\n", "tabs.yaml")
    assert "line 3" in info.value.problems[0].reason


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch {marker}']",
                                 "!!python/name:os.system", "!!python/object:builtins.dict {{}}"])
def test_yaml_python_tags_are_rejected(tag, tmp_path):
    marker = tmp_path / "pwned"
    text = yaml.safe_dump(base()) + f"description: {tag.format(marker=marker)}\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "evil.yaml")
    assert "could not determine a constructor" in str(info.value)
    assert not marker.exists()


def test_yaml_roundtrip_and_file_loading(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(base()), encoding="utf-8")
    assert load_scenario(path) == parse_scenario(base())
    assert load_scenario(str(path)).name == "spec-test"


def test_missing_file():
    with pytest.raises(ScenarioError) as info:
        load_scenario("/no/such/scenario.yaml")
    assert [(p.path, p.reason) for p in info.value.problems] == [("/no/such/scenario.yaml", "no such file")]


def test_directory_and_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert "is a directory" in str(info.value)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError) as info:
        load_scenario(binary)
    assert str(binary) in str(info.value) and "cannot be read" in str(info.value)


def test_unknown_builtin_scenario():
    with pytest.raises(ScenarioError) as info:
        load_scenario("builtin:nope")
    assert "no such file" in str(info.value)


def test_builtin_demo_and_shipped_scenarios_are_valid():
    assert load_scenario("builtin:demo").name == "demo"
    root = Path(__file__).resolve().parents[2] / "scenarios"
    for path in scenario_files(root):  # every file but the lessons' descriptions (sim.spec.lesson)
        try:
            load_scenario(path)
        except ScenarioError as err:  # pragma: no cover - the message is the point
            pytest.fail(f"{path} is invalid:\n{err}")


def test_scenario_is_frozen():
    scenario = parse_scenario(base())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        scenario.run.duration_s = 5


def test_json_schema_is_valid_json_with_sections():
    schema = json.loads(json_schema())
    assert schema["type"] == "object"
    props = schema["properties"]
    for section in ("topology", "workload", "faults", "policies", "slo", "run"):
        assert section in props
    assert set(schema["required"]) == {"topology", "workload"}
    assert schema.get("additionalProperties") is False
    text = json_schema()
    assert "kv_cache_tokens" in text and "rate_rps" in text and "timeout_s" in text
    assert json_schema() == text  # stable output


def test_duplicate_yaml_keys_are_rejected_with_line():
    text = "name: dup\nrun:\n  duration_s: 10\nrun:\n  seed: 3\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "dup.yaml")
    (problem,) = info.value.problems
    assert problem.path == "dup.yaml"
    assert "line 4" in problem.reason and "duplicate key 'run'" in problem.reason
    nested = yaml.safe_dump(base()).replace("replicas: 2", "replicas: 2\n    replicas: 3", 1)
    with pytest.raises(ScenarioError, match="duplicate key 'replicas'"):
        parse_scenario_text(nested, "dup.yaml")


def test_yaml_merge_keys_may_be_overridden():
    text = """
topology:
  load_balancers: [{name: lb, upstream: [p, q]}]
  pools:
    - &pool {name: p, replicas: 1, server: {mode: plain}}
    - <<: *pool
      name: q
      replicas: 3
workload:
  clients: [{name: c, target: [lb], arrival: {kind: poisson, rate_rps: 1}}]
"""
    scenario = parse_scenario_text(text)
    assert [(p.name, p.replicas) for p in scenario.topology.pools] == [("p", 1), ("q", 3)]


@pytest.mark.parametrize(
    "path, value",
    [
        ("workload/clients/0/arrival/rate_rps", float("inf")),
        ("run/duration_s", float("inf")),
        ("workload/clients/0/timeout_s", float("nan")),
    ],
)
def test_infinite_and_nan_numbers_are_rejected(path, value):
    """An infinite arrival rate would hang the run at t=0; infinities and NaN never pass validation."""
    found = problems_of(mutate(_set(path, value)))
    dotted = path.replace("/0/", "[0].").replace("/", ".")
    assert (dotted, "Input should be a finite number") in found
