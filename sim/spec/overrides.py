"""Changing a scenario without editing it: dotted-path assignments and overlay files (pure data).

A change is a dotted path into the scenario's plain data and a new value::

    pools.gpu.replicas=10                      (topology.pools: 'topology.' may be left out)
    faults.crash-1.at_s=300                    (a list item by its id or name)
    workload.clients.users.retry.max_attempts=1
    topology.zones.0=zone-x                    (or by its position)

Values on the command line are read as YAML scalars (``10`` is an int, ``0.5`` a float, ``null`` is
None, ``[a, b]`` a list). An overlay file holds ``base: other.yaml`` plus the keys it changes; it is
deep-merged onto its base, and lists of named items (pools, faults, clients...) are merged by name.

This module only rewrites plain data; the loader validates the result exactly as if it had been
written in the file, so a change can never produce a scenario the schema would refuse.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["OverrideError", "apply_changes", "merge_overlay", "parse_assignment", "parse_value"]

SCENARIO_SECTIONS = frozenset(
    ("name", "description", "topology", "workload", "faults", "policies", "slo", "monitoring", "response", "run")
)
TOPOLOGY_SECTIONS = frozenset(("zones", "network", "discovery", "load_balancers", "pools", "databases", "caches",
                               "control_planes"))
_KEYS = ("name", "id")
"""Fields that name a list item, so ``faults.crash-1`` finds the fault whose id is crash-1."""


class OverrideError(ValueError):
    """A change that cannot be applied: ``path`` names it, ``reason`` says why (one line)."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(path, reason)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def parse_value(text: str) -> Any:
    """A command-line value read as YAML (safe loader): ``10`` -> 10, ``off`` -> 'off', ``null`` -> None."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as err:
        raise OverrideError(text, f"not a YAML value ({getattr(err, 'problem', None) or err})") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``'pools.gpu.replicas=10'`` -> ``('pools.gpu.replicas', 10)``."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise OverrideError(text, "expected path=value, e.g. pools.gpu.replicas=10")
    return path, parse_value(value)


def canonical_path(path: str) -> str:
    """The full dotted path: a first segment naming a topology section gets its ``topology.`` prefix."""
    head = path.split(".", 1)[0]
    if head not in SCENARIO_SECTIONS and head in TOPOLOGY_SECTIONS:
        return f"topology.{path}"
    return path


def _find_item(items: list[Any], key: str, where: str) -> int:
    for field in _KEYS:
        for i, item in enumerate(items):
            if isinstance(item, Mapping) and item.get(field) == key:
                return i
    if key.lstrip("-").isdigit():
        i = int(key)
        if -len(items) <= i < len(items):
            return i % len(items)
        raise OverrideError(where, f"index {i} is out of range ({len(items)} items)")
    known = [str(item.get(f)) for item in items if isinstance(item, Mapping) for f in _KEYS if f in item]
    hint = f" (known: {', '.join(known)})" if known else " (the list is empty)"
    raise OverrideError(where, f"no item named '{key}'{hint}")


def _set(data: dict[str, Any], path: str, value: Any) -> str:
    """Set one value; returns where it landed as the loader spells paths (``topology.pools[0].replicas``)."""
    parts = canonical_path(path).split(".")
    if any(not p for p in parts):
        raise OverrideError(path, "empty segment in the path")
    if parts[0] not in SCENARIO_SECTIONS:
        raise OverrideError(path, f"unknown section '{parts[0]}' (sections: {', '.join(sorted(SCENARIO_SECTIONS))})")
    node: Any = data
    landed = ""
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            try:
                i = _find_item(node, part, where)
            except OverrideError as err:
                raise OverrideError(path, err.reason) from None
            landed += f"[{i}]"
            if last:
                node[i] = value
            else:
                node = node[i]
        elif isinstance(node, dict):
            landed += f".{part}" if landed else part
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}  # a section left at its default: written as if the file had it
                node = node[part]
        else:
            parent = ".".join(parts[:depth])
            raise OverrideError(path, f"'{parent}' is a value ({node!r}), it has no field '{part}'")
    return landed


def apply_changes(data: Mapping[str, Any], changes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A deep copy of scenario ``data`` with each ``path: value`` of ``changes`` set, in order, and where
    each change landed (``{'topology.pools[0].replicas': 'pools.gpu.replicas'}``) so a validation error
    can name the change that caused it.

    Only the path is checked here (that list items exist, that a value is not descended into);
    whether the result is a valid scenario is the loader's job.
    """
    if not isinstance(data, Mapping):
        raise OverrideError("(scenario)", "a scenario must be a mapping of sections")
    out = copy.deepcopy(dict(data))
    landed = {}
    for path, value in changes.items():
        landed[_set(out, path, copy.deepcopy(value))] = path
    return out, landed


def _named(items: list[Any]) -> str | None:
    """The field ('name' or 'id') every item of a list is keyed by, or None if they are not all named."""
    for field in _KEYS:
        if items and all(isinstance(item, Mapping) and field in item for item in items):
            return field
    return None


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` on top of ``base``: mappings merge key by key, lists of named items by name, the rest replace."""
    if isinstance(base, Mapping) and isinstance(overlay, Mapping):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(overlay, list):
        field = _named(base)
        if field is not None and _named(overlay) == field:
            merged = [copy.deepcopy(item) for item in base]
            index = {item[field]: i for i, item in enumerate(merged)}
            for item in overlay:
                if item[field] in index:
                    merged[index[item[field]]] = deep_merge(merged[index[item[field]]], item)
                else:
                    merged.append(copy.deepcopy(item))
            return merged
    return copy.deepcopy(overlay)


def merge_overlay(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """An overlay file's data (without its ``base`` key) merged onto its base scenario's data."""
    rest = {k: v for k, v in overlay.items() if k != "base"}
    return deep_merge(dict(base), rest)
