"""Physically meaningful bounds on every number a scenario holds.

Field constraints say what a value must be (``gt=0``: a rate is not negative); these bounds say what
a real serving stack could be, so that an absurd value is one line instead of an overflow, a hang
or a memory blow-up deep in the run (``replicas: 1e9``, ``slow_factor: 1e308``, ``cv: 1e-200``).
A bound is looked up by (model, field), then by field name, then by the unit suffix of the name
(``_s``, ``_ms``, ``_mb``, ``_rps``, ``_percent``, ``_days``). ``StrictModel`` adds a field validator
for each numeric field's bound when a model class is created, so an error names the field and comes
before any cross-field check of the model; tests check that every numeric field of the schema has a
bound, and ``bounded_schema`` writes them into the JSON Schema as minimum / maximum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args, get_origin

YEAR_S = 365.0 * 86_400.0
"""The bound of every duration: a year of simulated time."""


def fmt_number(value: float) -> str:
    """A number for an error line: 10,000 or 2.5 or 1e+308; never hundreds of digits."""
    if isinstance(value, int) and abs(value) >= 10**15:
        if abs(value) < 10**300:
            return f"{float(value):.3g}"
        return f"{'-' if value < 0 else ''}{str(abs(value))[0]}e+{len(str(abs(value))) - 1}"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Bound:
    """Largest (and, where a tiny value is as absurd as a huge one, smallest) value, and why."""

    high: float
    why: str
    low: float | None = None


def _b(high: float, why: str, low: float | None = None) -> Bound:
    return Bound(high, why, low)


BY_SUFFIX: dict[str, Bound] = {
    "_s": _b(YEAR_S, "(a year of simulated time)"),
    "_ms": _b(3_600_000.0, "(an hour)"),
    "_mb": _b(1e9, "(a petabyte)"),
    "_rps": _b(1e7, "requests per second"),
    "_percent": _b(100.0, "(all of it)"),
    "_days": _b(3660.0, "(ten years)"),
}

BY_NAME: dict[str, Bound] = {
    # sizes of the stack
    "replicas": _b(10_000, "replicas in one pool"),
    "batch_size": _b(10_000, "replicas in one pool"),
    "add": _b(10_000, "replicas in one pool"),
    "remove": _b(10_000, "replicas in one pool"),
    "per_hour": _b(1e6, "nodes per hour"),
    "min_replicas": _b(10_000, "replicas in one pool"),
    "max_replicas": _b(10_000, "replicas in one pool"),
    "gpu_quota": _b(1_000_000, "GPUs"),
    "gpus_per_replica": _b(1024, "GPUs per replica"),
    "users": _b(1_000_000_000, "distinct users of one population"),
    "key_space": _b(1_000_000_000, "cache keys"),
    "kv_cache_tokens": _b(1_000_000_000, "KV-cache tokens per replica"),
    "max_batch_size": _b(100_000, "requests in one batch"),
    "queue_capacity": _b(100_000_000, "waiting requests"),
    "concurrency": _b(100_000, "concurrent requests per server"),
    "pool_size": _b(100_000, "database connections"),
    "pool_min": _b(100_000, "database connections"),
    "cpus": _b(100_000, "processors of a database"),
    "shards": _b(100_000, "cache shards"),
    "shard_concurrency": _b(100_000, "commands at once per cache shard"),
    "shard_queue_capacity": _b(100_000_000, "waiting commands per cache shard"),
    "db_calls": _b(1000, "queries per start-up"),
    "db_calls_per_request": _b(1000, "database calls per request"),
    "priority": _b(1000, "priority classes"),
    "seed": _b(2**64 - 1, "(the largest 64-bit seed)"),
    # counts in policies and faults
    "max_attempts": _b(1_000_000, "attempts (start-ups may retry for hours)"),
    "max_retransmits": _b(30, "TCP retransmissions (Linux tcp_retries2 is 15)"),
    "max_unavailable": _b(10_000, "replicas"),
    "max_surge": _b(10_000, "replicas"),
    "choice_count": _b(100, "choices per pick"),
    "shard_size": _b(10_000, "replicas per shard"),
    "consecutive_5xx": _b(1_000_000, "consecutive errors"),
    "failure_threshold": _b(1000, "consecutive probes"),
    "success_threshold": _b(1000, "consecutive probes"),
    "sliding_window_size": _b(1_000_000, "calls in the window"),
    "minimum_number_of_calls": _b(1_000_000, "calls"),
    "permitted_number_of_calls_in_half_open_state": _b(1_000_000, "calls"),
    "success_rate_minimum_hosts": _b(1_000_000, "hosts"),
    "success_rate_request_volume": _b(1_000_000_000, "requests"),
    "min_retry_concurrency": _b(1_000_000, "retries in flight"),
    "min_requests": _b(1_000_000_000, "requests per window"),
    "min_samples": _b(1_000_000_000, "samples"),
    "max_tokens": _b(1e9, "tokens"),
    "token_ratio": _b(1e6, "tokens per success"),
    "burst": _b(1e9, "tokens"),
    # factors and shapes: beyond these a value is an overflow, not a scenario
    "multiplier": _b(10_000.0, "times"),
    "slow_factor": _b(10_000.0, "times slower"),
    "load_multiplier": _b(10_000.0, "times the load"),
    "k": _b(1000.0, "(the SRE book uses K = 2)"),
    "target": _b(1e6, "per replica"),
    "tolerance": _b(100.0, "(Kubernetes uses 0.1)"),
    "success_rate_stdev_factor": _b(100.0, "standard deviations"),
    "threshold": _b(1e12, "(an alert threshold)"),
    "cv": _b(100.0, "(coefficient of variation; below 0.001 use a deterministic distribution)", low=1e-3),
    "mean": _b(1e9, "(seconds or tokens)"),
    "value": _b(1e9, "(seconds or tokens)"),
    "low": _b(1e9, "(seconds or tokens)"),
    "high": _b(1e9, "(seconds or tokens)"),
    "shape": _b(20.0, "(Weibull shapes in reliability data are 0.5 to 5)", low=0.1),
    "time_scale": _b(1e6, "(replay speed)", low=1e-3),
    "start_offset": _b(YEAR_S, "(a year of trace time)"),
    "block_tokens": _b(1_000_000, "tokens per prefix block"),
    "model_mix": _b(1e9, "(a relative weight)"),
    "reimage_per_hour": _b(1e6, "nodes per hour"),
    # shares (their fields bound them already; listed so that every number has its bound here)
    **{name: _b(1.0, "(a share)") for name in (
        "recover_below", "cached_answer_ratio", "kv_cache_fraction", "sample_share", "error_probability",
        "max_error_rate", "availability", "low_priority_max_fill",
    )},
    **{name: _b(100.0, "(all of it)") for name in ("failure_rate_threshold", "slow_call_rate_threshold", "percent")},
    # rates and memory whose names end in _s but are not durations
    "capacity_ops_s": _b(1e9, "operations per second"),
    "base_ops_s": _b(1e9, "operations per second"),
    "ops_per_node_s": _b(1e9, "operations per second"),
    "leak_mb_per_s": _b(1e6, "MB per second"),
    "leak_mb_per_request": _b(1e6, "MB per request"),
    "per_request_mb": _b(1e6, "MB per request"),
}

BY_MODEL: dict[tuple[str, str], Bound] = {
    ("RecurringSpec", "count"): _b(100_000, "windows"),
    ("TargetSpec", "count"): _b(10_000, "targets"),
    ("AlertSpec", "threshold"): _b(1e12, "(an alert threshold)", low=-1e12),
}


def bound_for(model: str, field: str) -> Bound | None:
    """The bound of ``field`` of the model named ``model``; None if the table has none."""
    found = BY_MODEL.get((model, field)) or BY_NAME.get(field)
    if found is not None:
        return found
    for suffix, bound in BY_SUFFIX.items():
        if field.endswith(suffix):
            return bound
    return None


def _reason(bound: Bound, limit: float) -> str:
    """'(10,000 replicas in one pool)' for a unit, or the note itself when ``why`` is in parentheses."""
    return bound.why if bound.why.startswith("(") else f"({fmt_number(limit)} {bound.why})"


def _violation(value: Any, bound: Bound) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value > bound.high:
        return (f"{fmt_number(value)} is more than {fmt_number(bound.high)}, the most that makes sense "
                f"{_reason(bound, bound.high)}")
    if bound.low is not None and value < bound.low:
        return (f"{fmt_number(value)} is less than {fmt_number(bound.low)}, the least that makes sense "
                f"{_reason(bound, bound.low)}")
    return None


def bound_validator(bound: Bound) -> Callable[[Any], Any]:
    """A field validator enforcing ``bound`` on a number, or on each number of a list."""

    def check(value: Any) -> Any:
        if isinstance(value, dict):
            for key, item in value.items():
                reason = _violation(item, bound)
                if reason is not None:
                    raise ValueError(f"{key}: {reason}")
            return value
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                reason = _violation(item, bound)
                if reason is not None:
                    raise ValueError(f"[{i}] {reason}")
            return value
        reason = _violation(value, bound)
        if reason is not None:
            raise ValueError(reason)
        return value

    check.sim_bound = True  # type: ignore[attr-defined]  # marks it, so a subclass does not add it twice
    return check


def is_numeric(annotation: Any) -> bool:
    """Whether a field's type is a number, an optional number, or a list or mapping of numbers (not bool)."""
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    if get_origin(annotation) is dict:
        return is_numeric(get_args(annotation)[1])
    return any(is_numeric(arg) for arg in get_args(annotation) if not isinstance(arg, str | int | float))


def bounded_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema with each numeric field's bound as ``maximum`` (and ``minimum``), in place."""
    for model, definition in schema.get("$defs", {}).items():
        for field, prop in definition.get("properties", {}).items():
            bound = bound_for(model, field)
            if bound is None:
                continue
            for target in _numeric_nodes(prop):
                if "maximum" not in target and "exclusiveMaximum" not in target:
                    target["maximum"] = bound.high
                if bound.low is not None and target.get("minimum", float("-inf")) < bound.low:
                    target.pop("exclusiveMinimum", None)
                    target["minimum"] = bound.low
    return schema


def _numeric_nodes(prop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The parts of a property's schema that describe a number (itself, union members, list items)."""
    if prop.get("type") in ("number", "integer"):
        yield prop
    for key in ("anyOf", "oneOf", "allOf"):
        for member in prop.get(key, []):
            yield from _numeric_nodes(member)
    for key in ("items", "additionalProperties"):
        if isinstance(prop.get(key), dict):
            yield from _numeric_nodes(prop[key])
