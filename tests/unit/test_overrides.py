"""Changing a scenario without editing it: dotted paths, overlay files, and ``with_changes``."""

from __future__ import annotations

import pickle

import pytest
import yaml

from sim import ScenarioError, load_scenario, with_changes
from sim.spec.overrides import OverrideError, apply_changes, deep_merge, parse_assignment

BASE = {
    "name": "base",
    "topology": {
        "load_balancers": [{"name": "lb", "upstream": ["gpu", "cpu"]}],
        "pools": [
            {"name": "gpu", "replicas": 4, "server": {"mode": "plain", "concurrency": 2}},
            {"name": "cpu", "replicas": 2, "server": {"mode": "plain"}},
        ],
    },
    "workload": {"clients": [{"name": "users", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 3}}]},
    "faults": [{"id": "crash-1", "kind": "crash", "target": {"pool": "gpu", "count": 1}, "at_s": 10}],
    "run": {"duration_s": 60, "seed": 1},
}


@pytest.fixture
def base_file(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    return path


def test_set_paths_address_list_items_by_name_and_id(base_file):
    s = load_scenario(base_file, {"pools.gpu.replicas": 10, "faults.crash-1.at_s": 30,
                                  "workload.clients.users.retry.max_attempts": 1})
    assert s.topology.pools[0].replicas == 10
    assert s.topology.pools[1].replicas == 2
    assert s.faults[0].at_s == 30
    assert s.workload.clients[0].retry.max_attempts == 1


def test_set_by_position_and_full_topology_path(base_file):
    s = load_scenario(base_file, {"topology.pools.1.replicas": 5})
    assert s.topology.pools[1].replicas == 5


def test_values_are_yaml_scalars():
    assert parse_assignment("pools.gpu.replicas=10") == ("pools.gpu.replicas", 10)
    assert parse_assignment("run.warmup_s=0.5") == ("run.warmup_s", 0.5)
    assert parse_assignment("workload.clients.users.timeout_s=null") == ("workload.clients.users.timeout_s", None)
    assert parse_assignment("policies.retry.jitter=full") == ("policies.retry.jitter", "full")
    assert parse_assignment("x=[a, b]") == ("x", ["a", "b"])
    with pytest.raises(OverrideError, match="path=value"):
        parse_assignment("pools.gpu.replicas")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"pools.gpu.replicas": -2}, "pools.gpu.replicas (topology.pools[0].replicas): Input should be greater"),
    ({"pools.gpu.replicaz": 3}, "pools.gpu.replicaz (topology.pools[0].replicaz): unknown key"),
    ({"pools.tpu.replicas": 3}, "pools.tpu.replicas: no item named 'tpu' (known: gpu, cpu)"),
    ({"bogus.x": 1}, "bogus.x: unknown section 'bogus'"),
    ({"run.seed.x": 1}, "run.seed.x: 'run.seed' is a value (1), it has no field 'x'"),
    ({"faults.crash-1.at_s": 100}, "faults.crash-1.at_s (faults[0].at_s): starts at 100"),
    ({"pools.9.replicas": 1}, "pools.9.replicas: index 9 is out of range (2 items)"),
])
def test_bad_changes_are_one_line_naming_the_change(base_file, changes, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario(base_file, changes)
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(expected)


def test_with_changes_validates_where_model_copy_does_not(base_file):
    s = load_scenario(base_file)
    assert s.model_copy(update={"name": "bad name!"}).name == "bad name!"  # the trap with_changes avoids
    with pytest.raises(ScenarioError, match="replicas"):
        with_changes(s, {"pools.gpu.replicas": -2})
    t = with_changes(s, {"pools.gpu.replicas": 7, "policies.retry.max_attempts": 2})
    assert t.topology.pools[0].replicas == 7 and t.policies.retry.max_attempts == 2
    assert s.topology.pools[0].replicas == 4  # the original is unchanged
    assert with_changes(s, {}) == s


def test_with_changes_round_trips_every_shipped_scenario():
    from pathlib import Path

    from sim.spec.paths import scenario_files

    root = Path(__file__).resolve().parents[2]
    files = scenario_files(root / "scenarios") + sorted(root.glob("sim/scenarios_builtin/*.yaml"))
    assert files
    for f in files:
        s = load_scenario(f)
        assert with_changes(s, {"run.seed": s.run.seed}) == s, f


def test_overlay_merges_named_lists_by_name(base_file, tmp_path):
    overlay = tmp_path / "variant.yaml"
    overlay.write_text(
        "base: base.yaml\nname: variant\n"
        "topology:\n  pools:\n    - {name: gpu, replicas: 6}\n    - {name: tpu, replicas: 1, server: {mode: plain}}\n"
        "  load_balancers:\n    - {name: lb, upstream: [gpu, cpu, tpu]}\n"
        "run: {duration_s: 90}\n", encoding="utf-8")
    s = load_scenario(overlay)
    assert s.name == "variant"
    assert [(p.name, p.replicas) for p in s.topology.pools] == [("gpu", 6), ("cpu", 2), ("tpu", 1)]
    assert s.topology.pools[0].server.concurrency == 2  # kept from the base: merged, not replaced
    assert s.run.duration_s == 90 and s.run.seed == 1
    assert s.faults[0].id == "crash-1"
    # an overlay of an overlay, with --set on top
    second = tmp_path / "sub" / "second.yaml"
    second.parent.mkdir()
    second.write_text("base: ../variant.yaml\nfaults:\n  - {id: crash-1, at_s: 50}\n", encoding="utf-8")
    s2 = load_scenario(second, {"pools.cpu.replicas": 3})
    assert s2.faults[0].at_s == 50 and s2.topology.pools[0].replicas == 6 and s2.topology.pools[1].replicas == 3


def test_overlay_errors(tmp_path, base_file):
    loop = tmp_path / "loop.yaml"
    loop.write_text("base: loop.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="base: 'loop.yaml' includes itself"):
        load_scenario(loop)
    missing = tmp_path / "missing.yaml"
    missing.write_text("base: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(missing)
    typo = tmp_path / "typo.yaml"
    typo.write_text("base: base.yaml\nrun: {duraton_s: 5}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="run.duraton_s: unknown key"):
        load_scenario(typo)


def test_deep_merge_rules():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
    assert deep_merge({"x": [1, 2]}, {"x": [3]}) == {"x": [3]}  # plain lists are replaced
    merged = deep_merge([{"id": "f", "at_s": 1, "kind": "crash"}], [{"id": "f", "at_s": 2}, {"id": "g"}])
    assert merged == [{"id": "f", "at_s": 2, "kind": "crash"}, {"id": "g"}]


def test_apply_changes_does_not_touch_its_input():
    data = {"run": {"seed": 1}}
    out, landed = apply_changes(data, {"run.seed": 2})
    assert data == {"run": {"seed": 1}} and out == {"run": {"seed": 2}} and landed == {"run.seed": "run.seed"}


def test_override_error_survives_pickling():
    err = pickle.loads(pickle.dumps(OverrideError("pools.x", "no item named 'x'")))
    assert str(err) == "pools.x: no item named 'x'"
