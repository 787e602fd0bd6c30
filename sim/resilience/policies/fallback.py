"""Graceful degradation: when the main pool cannot answer, answer something smaller, counted as ``degraded``.

A load balancer with a ``fallback`` sends an attempt that failed with one of ``fallback.on``
(default: rejected, no_healthy_upstream) either to a cached answer (with probability
``cached_answer_ratio``: a cache of earlier answers for similar prompts) or to the least loaded
serving replica of the smaller-model ``pool``. A served fallback ends the request as ``degraded``,
a success kept apart from ``success`` in every count. The routing lives in the load balancer
(``LoadBalancer._fall_back``); this module wires it.
"""

from __future__ import annotations

from typing import Any

from sim.spec.policies import FallbackSpec


def attach_fallback(balancer: Any, spec: FallbackSpec, pool_replicas: list[Any]) -> None:
    """Give a load balancer its fallback policy and the replicas of the smaller pool (may be empty)."""
    balancer.fallback = spec
    balancer.fallback_servers = pool_replicas
