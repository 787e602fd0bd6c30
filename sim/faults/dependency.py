"""Dependency faults: database slow, down or failing over; cache flush or loss; control-plane overload.

A slow database holds connections longer, so its pool fills; a down database comes back at the end
of its window, a failed primary never does by itself (an instant fault: only a configured standby's
promotion, a mechanism, brings the database back); a flushed cache sends its misses to the database;
control-plane load above capacity stops discovery refreshing records.
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, FactorFault, Fault, bring_back, hold_key, take_down


@FAULTS.register("database_slow")
class DatabaseSlow(FactorFault):
    """Every query takes slow_factor times longer."""

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.slow_factor

    def describe(self) -> str:
        return f"queries {self.ctx.spec.slow_factor:g}x slower"


@FAULTS.register("database_down")
class DatabaseDown(Fault):
    """Connections are refused for the window; callers fail after their connect timeout."""

    def start(self) -> None:
        for db in self.ctx.targets:
            take_down(self.ctx, db, "refusing connections")

    def stop(self) -> None:
        for db in self.ctx.targets:
            bring_back(self.ctx, db, "back")


@FAULTS.register("database_failover")
class PrimaryFailure(Fault):
    """The primary fails for good (instant fault): only a standby's promotion (``databases[].replica``,
    the controller ``sim.resilience.controllers.failover.DatabaseFailover``) brings the database back."""

    @property
    def instant(self) -> bool:
        return True

    def start(self) -> None:
        for db in self.ctx.targets:
            take_down(self.ctx, db, "primary failed", hold_key(self))


@FAULTS.register("connection_surge")
class ConnectionSurge(Fault):
    """Every open connection to the database is dropped at once (instant fault); the callers reopening them
    is the database's connection-setup mechanism, not this fault."""

    @property
    def instant(self) -> bool:
        return True

    def start(self) -> None:
        for db in self.ctx.targets:
            db.drop_connections(self.ctx.cause("the connection pooler drops and reopens every connection"))


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
            take_down(self.ctx, cache, "cache shards failed")

    def stop(self) -> None:
        for cache in self.ctx.targets:
            bring_back(self.ctx, cache, "cache back (empty)")


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


@FAULTS.register("control_plane_capacity_loss")
class ControlPlaneCapacityLoss(Fault):
    """A share of the control plane's capacity is lost; its queue decides what that does."""

    def start(self) -> None:
        share = self.ctx.spec.capacity_percent / 100.0
        for cp in self.ctx.targets:
            cp.set_capacity(self.ctx.spec.id, self.ctx.cause(f"{share:.0%} of the API servers' capacity lost"),
                            multiplier=1.0 - share)

    def stop(self) -> None:
        for cp in self.ctx.targets:
            cp.set_capacity(self.ctx.spec.id, self.ctx.cause("API servers back"))
