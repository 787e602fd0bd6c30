"""Loading a scenario from YAML with clear, one-line-per-problem errors.

YAML is read with the safe loader only: nothing in a scenario is ever evaluated as code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.spec.inventory import check_fault_targets
from sim.spec.scenario import Problem, Scenario, check_references


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` lists every ``path: reason``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_TAGS = frozenset(("kind", "mode"))
"""Discriminator fields of the scenario's unions: pydantic puts their value in an error's location."""


def _format_loc(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted path of an error, dropping union tags that pydantic inserts but the input does not have."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and 0 <= item < len(node):
            parts.append(f"[{item}]")
            node = node[item]
        elif isinstance(node, dict) and item in node:
            parts.append(f".{item}" if parts else str(item))
            node = node[item]
        elif isinstance(node, dict) and isinstance(item, str) and any(node.get(f) == item for f in _TAGS):
            continue  # the tag of a discriminated union ('poisson', 'llm'): the input's own kind/mode
        elif isinstance(node, dict) and isinstance(item, str) and item in node.values():
            continue  # the tag of a tagged union (e.g. kind: poisson): not a path element
        elif isinstance(node, dict) and isinstance(item, str) and "[" not in item and "-" not in item:
            # a missing or extra key: name it, and stop descending
            parts.append(f".{item}" if parts else str(item))
            node = None
        # anything else is a union tag (e.g. 'poisson') or a function-validator label: not a path
    return "".join(parts) or "(scenario)"


def _pydantic_problems(err: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        reason = e["msg"]
        if e["type"] == "extra_forbidden":
            reason = "unknown key"
        elif e["type"] == "missing":
            reason = "required field is missing"
        elif reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        path = _format_loc(tuple(e["loc"]), data)
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = e["ctx"]["discriminator"].strip("'")
            path = f"{path}.{field}"
            expected = e["ctx"].get("expected_tags")
            if e["type"] == "union_tag_invalid":
                reason = f"unknown {field} '{e['ctx']['tag']}' (expected one of {expected})"
            else:
                reason = "required field is missing"
        problems.append(Problem(path, reason))
    return problems


def parse_scenario(data: Any) -> Scenario:
    """Validate a scenario given as plain data (a dict, as from YAML or JSON)."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("(scenario)", "a scenario must be a mapping of sections")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_pydantic_problems(err, data)) from None
    problems = check_references(scenario)
    if not problems:
        problems = check_fault_targets(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(source: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; ``builtin:NAME`` names a shipped scenario."""
    path = _resolve(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(str(source), "no such file")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(str(source), "is a directory, not a scenario file")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(str(source), f"cannot be read ({err.__class__.__name__})")]) from None
    return parse_scenario_text(text, str(source))


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys (plain YAML keeps the last one silently: a lost setting)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults' may be overridden by explicit keys
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (only one value is allowed)", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def parse_scenario_text(text: str, origin: str = "<text>") -> Scenario:
    """Validate a scenario given as YAML text; syntax errors name the line and column."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: nothing is evaluated as code
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ScenarioError([Problem(origin, f"YAML syntax error at {where}: {err.problem}")]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(origin, f"YAML error: {err}")]) from None
    return parse_scenario(data)


BUILTIN_DIR = Path(__file__).resolve().parent.parent / "scenarios_builtin"


def _resolve(source: str | Path) -> Path:
    text = str(source)
    if text.startswith("builtin:"):
        return BUILTIN_DIR / f"{text[len('builtin:'):]}.yaml"
    return Path(source)


def json_schema() -> str:
    """The JSON Schema of a scenario file, for editor completion."""
    return json.dumps(Scenario.model_json_schema(), indent=2, sort_keys=True)
