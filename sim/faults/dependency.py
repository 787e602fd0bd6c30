"""Dependency faults: database slow, down or failing over; cache flush or loss; control-plane overload.

A slow database holds connections longer, so its pool fills; a failover is over once the replica is
promoted (an instant fault: the promotion is the recovery mechanism); a flushed cache sends its
misses to the database; control-plane load above capacity stops discovery refreshing records.
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, FactorFault, Fault
from sim.observe.timeline import Cause


@FAULTS.register("database_slow")
class DatabaseSlow(FactorFault):
    """Every query takes slow_factor times longer."""

    def full(self) -> float:
        return self.ctx.spec.slow_factor

    def describe(self) -> str:
        return f"queries {self.ctx.spec.slow_factor:g}x slower"


def set_database(world: Any, db: Any, available: bool, cause: Cause) -> int | None:
    """Make a database (un)available and record it; returns the transition id."""
    db.available = available
    return world.set_state(db.name, "healthy" if available else "down", cause)


@FAULTS.register("database_down")
class DatabaseDown(Fault):
    """Connections are refused; callers fail after their connect timeout."""

    def start(self) -> None:
        for db in self.ctx.targets:
            set_database(self.ctx.world, db, False, self.ctx.cause("refusing connections"))

    def stop(self) -> None:
        for db in self.ctx.targets:
            set_database(self.ctx.world, db, True, self.ctx.cause("back"))


@FAULTS.register("database_failover")
class DatabaseFailover(Fault):
    """The primary fails; the replica is promoted after promotion_s (a mechanism with the failure as parent)."""

    @property
    def instant(self) -> bool:
        return True

    def start(self) -> None:
        world = self.ctx.world
        for db in self.ctx.targets:
            tid = set_database(world, db, False, self.ctx.cause("primary failed; promoting a replica"))
            world.call_later(self.ctx.spec.promotion_s, self._promoted, db, tid)

    def _promoted(self, db: Any, parent: int | None) -> None:
        cause = Cause("mechanism", db.name, "failover", "replica promoted to primary",
                      (parent,) if parent is not None else ())
        set_database(self.ctx.world, db, True, cause)


@FAULTS.register("cache_flush")
class CacheFlush(Fault):
    """Every entry is lost at once; misses go to the database until the cache refills."""

    @property
    def instant(self) -> bool:
        return True

    def start(self) -> None:
        for cache in self.ctx.targets:
            lost = len(cache.entries)
            cache.flush()
            self.ctx.mark(cache.name, f"flushed: {lost} entries lost")


@FAULTS.register("cache_down")
class CacheDown(Fault):
    """Cache shards fail: every lookup goes to the database and nothing is cached."""

    def start(self) -> None:
        for cache in self.ctx.targets:
            cache.available = False
            cache.flush()
            self.ctx.world.set_state(cache.name, "down", self.ctx.cause("cache shards failed"))

    def stop(self) -> None:
        for cache in self.ctx.targets:
            cache.available = True
            self.ctx.world.set_state(cache.name, "healthy", self.ctx.cause("cache back (empty)"))


@FAULTS.register("control_plane_overload")
class ControlPlaneOverload(Fault):
    """The control plane's load is multiplied; whether that overloads it is the capacity mechanism's call."""

    def start(self) -> None:
        m = self.ctx.spec.load_multiplier
        for cp in self.ctx.targets:
            cp.set_load(self.ctx.spec.id, self.ctx.cause(f"load x{m:g}"), multiplier=m)

    def stop(self) -> None:
        for cp in self.ctx.targets:
            cp.set_load(self.ctx.spec.id, self.ctx.cause("extra load gone"))
