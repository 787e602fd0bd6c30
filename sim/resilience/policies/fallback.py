"""Graceful degradation: when the main pool cannot answer, answer something smaller, counted as ``degraded``.

A load balancer with a fallback sends an attempt that failed with one of ``on`` (default: rejected,
no_healthy_upstream) either to a cached answer (with probability ``cached_answer_ratio``: a cache of
earlier answers for similar prompts) or to the least loaded serving replica of the smaller-model
pool. A served fallback ends the request as ``degraded``, a success kept apart from ``success`` in
every count. The routing lives in the load balancer (``LoadBalancer._fall_back``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.spec.policies import FallbackSpec


@dataclass(frozen=True)
class FallbackPlan:
    """A load balancer's fallback: which failures fall back, the cached-answer share, the smaller pool."""

    on: tuple[str, ...]
    cached_answer_ratio: float
    servers: list[Any]
    """Replicas of the smaller pool (may be empty: cached answers only)."""


def fallback_plan(spec: FallbackSpec, pool_replicas: list[Any]) -> FallbackPlan:
    """The fallback policy of a load balancer, from its spec and the replicas of the smaller pool."""
    return FallbackPlan(tuple(spec.on), spec.cached_answer_ratio, pool_replicas)
