"""Redundancy designs: what is configuration, and the one active mechanism (database replica promotion).

Configuration only (no extra code on the request path):
- N+k replicas: ``pools[].replicas`` (deploy k more than the load needs);
- pools in several zones: ``pools[].zones`` with ``balancing.kind: zone_aware`` (local first, spilling
  to the other zones in proportion to the capacity the local zone lost);
- cells with a thin router: one load balancer and pool per cell, and a client with
  ``lb_selection: by_user`` (each user always goes to the same cell);
- shuffle sharding: ``balancing.kind: shuffle_shard`` with ``shard_size`` (see
  ``shuffle_shard_expectations`` for what share of customers a poison customer can hurt);
- static stability: ``discovery.static_stability: true`` (clients keep the last-known-good answer).

Database replica with automatic promotion: a watcher checks the primary every few seconds; once it
has been unavailable for ``detection_s``, the standby is promoted, which takes ``promotion_s``; the
database then answers again from the standby's zone. This is the only way back from a
``database_failover`` fault (the primary is lost for good); it also ends a ``database_down`` or zone
outage of the primary that lasts longer than detection plus promotion. Queries already running or
waiting for a connection keep their own course (they finish or time out as before).
"""

from __future__ import annotations

from math import comb
from typing import Any

from sim.observe.timeline import Cause
from sim.spec.topology import DatabaseReplicaSpec

CHECK_PERIOD_S = 5.0
"""How often the failover manager looks at the primary (Patroni loop_wait is 10 s; illustrative)."""


class DatabaseFailover:
    """Promotes a standby when the primary database stops answering (see the module docstring)."""

    def __init__(self, spec: DatabaseReplicaSpec, database: Any):
        self.spec = spec
        self.database = database
        self.standby_zone = spec.zone or database.zone
        self.promotions: list[float] = []
        self._down_since: float | None = None
        self._promoting = False
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world
        world.call_later(CHECK_PERIOD_S, self._check)

    def _check(self) -> None:
        world = self._world
        db = self.database
        now = world.now
        if db.available or self._promoting:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now
        elif now - self._down_since >= self.spec.detection_s:
            self._promoting = True
            world.call_later(self.spec.promotion_s, self._promoted)
        world.call_later(CHECK_PERIOD_S, self._check)

    def _promoted(self) -> None:
        world = self._world
        db = self.database
        self._promoting = False
        self._down_since = None
        if db.available:
            return
        db.available = True
        db.held_down.clear()  # the standby replaced the failed primary: what held the primary down is moot
        db.zone = self.standby_zone
        self.promotions.append(world.now)
        parent = world.timeline.last_transition.get(db.name)
        world.set_state(db.name, "healthy", Cause(
            "mechanism", db.name, "replica_promotion", f"standby in {self.standby_zone} promoted to primary",
            (parent,) if parent is not None else ()), force=True)


def shuffle_shard_expectations(replicas: int, shard_size: int) -> dict[str, float]:
    """Combinatorial share of customers hurt by one poison customer whose shard is taken down.

    ``full_overlap``: another customer has exactly the same shard (loses all its replicas);
    ``any_overlap``: shares at least one replica (loses part of its capacity).
    """
    shards = comb(replicas, shard_size)
    disjoint = comb(replicas - shard_size, shard_size) if replicas >= 2 * shard_size else 0
    return {"shards": float(shards), "full_overlap": 1.0 / shards, "any_overlap": 1.0 - disjoint / shards}
