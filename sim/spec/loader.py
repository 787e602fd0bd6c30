"""Loading a scenario from YAML with clear, one-line-per-problem errors.

YAML is read with the safe loader only: nothing in a scenario is ever evaluated as code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.spec import overrides
from sim.spec.bounds import bounded_schema, fmt_number
from sim.spec.inventory import check_fault_targets
from sim.spec.names import check_names
from sim.spec.paths import BuiltinError, builtin_file, resolve_trace_paths
from sim.spec.scenario import Problem, Scenario, check_references
from sim.spec.source import SourceError, check_characters, check_yaml_shape, line_col, read_text
from sim.spec.work import DEFAULT_MAX_EVENTS, check_work


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` lists every ``path: reason``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[Problem]]]:
        """Pickle by its problems: the default rebuilds from the message, which is not what ``__init__`` takes."""
        return (ScenarioError, (self.problems,))


EMPTY = "empty: a scenario is a mapping of sections (topology, workload, ...)"

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


_STRICT_TYPE_ERRORS = frozenset(("int_type", "float_type", "bool_type", "string_type", "int_from_float"))


def _describe(value: Any) -> str:
    """A short description of a wrongly typed input, as YAML shows it (true, '3', 2.5, a list)."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value[:40]}' (a string; write numbers and true/false without quotes)"
    if isinstance(value, int | float):
        return fmt_number(value)
    if value is None:
        return "null"
    return f"a {'mapping' if isinstance(value, dict) else 'list' if isinstance(value, list) else 'value'}"


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
        elif e["type"] in _STRICT_TYPE_ERRORS:
            reason = f"{reason}, not {_describe(e.get('input'))}"
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


def parse_scenario(data: Any, max_events: int | None = DEFAULT_MAX_EVENTS) -> Scenario:
    """Validate a scenario given as plain data (a dict, as from YAML or JSON).

    Beyond the schema: every number within its physical bound (sim.spec.bounds), names, references,
    fault targets, and the run's estimated work within ``max_events`` (sim.spec.work; None: no limit).
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem("(scenario)", "a scenario must be a mapping of sections")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_pydantic_problems(err, data)) from None
    except RecursionError:
        raise ScenarioError([Problem("(scenario)", "nested too deeply")]) from None
    problems = check_names(scenario) + check_references(scenario)
    if not problems:
        problems = check_fault_targets(scenario)
    if not problems:
        problems = check_work(scenario, max_events)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(source: str | Path, changes: dict[str, Any] | None = None,
                  max_events: int | None = DEFAULT_MAX_EVENTS) -> Scenario:
    """Read and validate a scenario YAML file; ``builtin:NAME`` names a shipped scenario.

    Only a regular file is read (see sim.spec.source); relative trace paths in it are taken
    relative to the file's folder.

    A file with a ``base: other.yaml`` key is an overlay, merged onto its base (see sim.spec.overrides).
    ``changes`` maps dotted paths to values (``{"pools.gpu.replicas": 10}``), applied before validation.
    """
    return _parse_with_changes(load_scenario_data(source), changes or {}, max_events)


def load_scenario_data(source: str | Path, _seen: tuple[Path, ...] = ()) -> Any:
    """A scenario file's plain data, overlays resolved (a relative ``base`` is relative to the overlay file)."""
    path = _resolve(source)
    try:
        text = read_text(path)  # only a regular file, of bounded size (see sim.spec.source)
    except SourceError as err:
        raise ScenarioError([Problem(str(source), str(err))]) from None
    data = _read_yaml(text, str(source))
    if data is None:
        raise ScenarioError([Problem(str(source), EMPTY)])
    data = resolve_trace_paths(data, path.parent)  # a relative trace path is relative to the file naming it
    if not (isinstance(data, dict) and "base" in data):
        return data
    base = data["base"]
    if not isinstance(base, str) or not base:
        raise ScenarioError([Problem("base", "must name the base scenario file")])
    base_path = base if base.startswith("builtin:") else path.parent / base
    if _resolve(base_path).resolve() in _seen + (path.resolve(),):
        raise ScenarioError([Problem("base", f"'{base}' includes itself (a cycle of overlays)")])
    base_data = load_scenario_data(base_path, _seen + (path.resolve(),))
    if not isinstance(base_data, dict):
        raise ScenarioError([Problem("base", f"'{base}' is not a scenario mapping")])
    return overrides.merge_overlay(base_data, data)


def with_changes(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """A validated copy of ``scenario`` with dotted-path changes, checked exactly as if written in its file.

        faster = sim.with_changes(scenario, {"pools.gpu.replicas": 10, "faults.crash-1.at_s": 300})

    Raises ScenarioError naming the path of a bad change (``model_copy(update=...)`` would not validate).
    """
    return _parse_with_changes(scenario.model_dump(exclude_unset=True), changes)


def _parse_with_changes(data: Any, changes: dict[str, Any], max_events: int | None = DEFAULT_MAX_EVENTS) -> Scenario:
    if not changes:
        return parse_scenario(data, max_events)
    try:
        changed, landed = overrides.apply_changes(data, changes)
    except overrides.OverrideError as err:
        raise ScenarioError([Problem(err.path, err.reason)]) from None
    try:
        return parse_scenario(changed, max_events)
    except ScenarioError as err:
        raise ScenarioError([_name_change(p, landed) for p in err.problems]) from None


def _name_change(problem: Problem, landed: dict[str, str]) -> Problem:
    """A problem under a changed field names the change as the user wrote it, then where it landed."""
    for where, path in landed.items():
        if problem.path == where or problem.path.startswith((where + ".", where + "[")):
            return Problem(path if problem.path == path else f"{path} ({problem.path})", problem.reason)
    return problem


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


def parse_scenario_text(text: str, origin: str = "<text>", base_dir: Path | None = None,
                        max_events: int | None = DEFAULT_MAX_EVENTS) -> Scenario:
    """Validate a scenario given as YAML text; syntax errors name the line and column.

    ``base_dir``: the folder relative trace paths are resolved against (the scenario file's).
    """
    data = _read_yaml(text, origin)
    if data is None:
        raise ScenarioError([Problem(origin, EMPTY)])
    if base_dir is not None:
        data = resolve_trace_paths(data, base_dir)
    return parse_scenario(data, max_events)


def _read_yaml(text: str, origin: str) -> Any:
    """The YAML document's plain data; control characters, depth, alias bombs and syntax errors are one line."""
    try:
        check_characters(text)
        check_yaml_shape(text)
    except SourceError as err:
        raise ScenarioError([Problem(origin, str(err))]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: nothing is evaluated as code
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ScenarioError([Problem(origin, f"YAML syntax error at {where}: {_one_line(err.problem)}")]) from None
    except yaml.reader.ReaderError as err:
        raise ScenarioError([Problem(origin, f"YAML error at {line_col(text, err.position)}: {err.reason}")]) from None
    except yaml.YAMLError as err:
        raise ScenarioError([Problem(origin, f"YAML error: {_one_line(str(err))}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(origin, "YAML nested too deeply")]) from None


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _resolve(source: str | Path) -> Path:
    text = str(source)
    if text.startswith("builtin:"):
        try:
            return builtin_file(text[len("builtin:") :])
        except BuiltinError as err:
            raise ScenarioError([Problem(text, str(err))]) from None
    if not text:
        raise ScenarioError([Problem("(scenario)", "the scenario path is empty")])
    return Path(source)


def json_schema() -> str:
    """The JSON Schema of a scenario file, for editor completion."""
    return json.dumps(bounded_schema(Scenario.model_json_schema()), indent=2, sort_keys=True)
