"""Redundancy designs: what is configuration, and the one active mechanism (database replica promotion).

Configuration only (no extra code on the request path):
- N+k replicas: ``pools[].replicas`` (deploy k more than the load needs);
- pools in several zones: ``pools[].zones`` with ``balancing.kind: zone_aware`` (local first, spilling the residual
  the local zone cannot take to the zones with spare capacity, as Envoy);
- cells with a thin router: one load balancer and pool per cell, and a client with
  ``lb_selection: by_user`` (each user always goes to the same cell);
- shuffle sharding: ``balancing.kind: shuffle_shard`` with ``shard_size`` (see
  ``shuffle_shard_expectations`` for what share of customers a poison customer can hurt);
- static stability: ``discovery.static_stability: true`` (clients keep the last-known-good answer).

Database replica with automatic promotion: ``sim/resilience/controllers/failover.py``.
"""

from __future__ import annotations

from math import comb


def shuffle_shard_expectations(replicas: int, shard_size: int) -> dict[str, float]:
    """Combinatorial share of customers hurt by one poison customer whose shard is taken down.

    ``full_overlap``: another customer has exactly the same shard (loses all its replicas);
    ``any_overlap``: shares at least one replica (loses part of its capacity).
    """
    shards = comb(replicas, shard_size)
    disjoint = comb(replicas - shard_size, shard_size) if replicas >= 2 * shard_size else 0
    return {"shards": float(shards), "full_overlap": 1.0 / shards, "any_overlap": 1.0 - disjoint / shards}
