"""Every number has a physically meaningful bound, and an absurd one is a single line naming its field.

Written against the class, not the examples: the schema is checked for a maximum on every numeric
field, and every numeric value of every shipped scenario is set, one at a time, to a huge value,
which must be refused naming exactly that field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.spec import ScenarioError, json_schema, load_scenario_data, parse_scenario
from sim.spec.paths import scenario_files
from sim.spec.work import DEFAULT_MAX_EVENTS
from tests.hostile.harness import assert_one_line, chaossim_limited

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = scenario_files(ROOT / "scenarios") + [ROOT / "sim" / "scenarios_builtin" / "demo.yaml"]


def _numeric(prop: dict) -> bool:
    if prop.get("type") in ("number", "integer"):
        return True
    return any(_numeric(m) for k in ("anyOf", "oneOf") for m in prop.get(k, [])) or any(
        isinstance(prop.get(k), dict) and _numeric(prop[k]) for k in ("items", "additionalProperties"))


def _has_maximum(prop: dict) -> bool:
    if prop.get("type") in ("number", "integer"):
        return "maximum" in prop or "exclusiveMaximum" in prop
    members = [m for k in ("anyOf", "oneOf") for m in prop.get(k, []) if _numeric(m)]
    members += [prop[k] for k in ("items", "additionalProperties")
                if isinstance(prop.get(k), dict) and _numeric(prop[k])]
    return bool(members) and all(_has_maximum(m) for m in members)


def test_every_numeric_field_of_the_schema_has_a_maximum():
    schema = json.loads(json_schema())
    missing = [f"{model}.{field}" for model, d in schema["$defs"].items()
               for field, prop in d.get("properties", {}).items() if _numeric(prop) and not _has_maximum(prop)]
    assert not missing, f"numeric fields without a bound in sim/spec/bounds.py: {missing}"


def numeric_leaves(node: Any, path: str = "") -> Iterator[tuple[str, tuple, Any]]:
    """(dotted path as errors name it, key path, value) of every number in plain scenario data."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from ((p, (key, *k), v) for p, k, v in numeric_leaves(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from ((p, (i, *k), v) for p, k, v in numeric_leaves(value, f"{path}[{i}]"))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, (), node


def _with(data: dict, keys: tuple, value: Any) -> dict:
    out = copy.deepcopy(data)
    node = out
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return out


def _plain(path: Path) -> dict:
    """The scenario as validated data (defaults filled in: they are numbers a user may set too)."""
    return parse_scenario(load_scenario_data(path)).model_dump(mode="json", exclude_none=True)  # overlays merged


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_huge_value_in_any_numeric_field_is_refused_naming_it(path):
    data = _plain(path)
    for where, keys, value in numeric_leaves(data):
        huge = 10**30 if isinstance(value, int) else 1e300
        with pytest.raises(ScenarioError) as info:
            parse_scenario(_with(data, keys, huge))
        field = where.rsplit("[", 1)[0] if where.endswith("]") else where  # a list's bound names the list
        named = [p for p in info.value.problems if p.path in (where, field)]
        assert named, f"{path.name}: {where} = {huge} reported as {info.value.problems}"


def test_work_limit_names_the_flag_and_can_be_raised(tmp_path):
    corpus = Path(__file__).with_name("corpus") / "size_rate_at_bound.yaml"
    proc = chaossim_limited("validate", str(corpus))
    line = assert_one_line(proc.returncode, proc.stderr, proc.stdout, "workload.clients[0].arrival.rate_rps")
    assert f"more than the limit of {DEFAULT_MAX_EVENTS:,}" in line and "--max-events 1000000000" in line
    proc = chaossim_limited("validate", str(corpus), "--max-events", "1000000000")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    proc = chaossim_limited("validate", str(corpus), "--max-events", "-3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--max-events" in proc.stderr


def test_the_command_line_default_is_the_spec_default():
    import sim.cli

    assert sim.cli.DEFAULT_MAX_EVENTS == DEFAULT_MAX_EVENTS
