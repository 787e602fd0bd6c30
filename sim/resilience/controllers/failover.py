"""Database replica with automatic promotion: a watcher checks the primary every few seconds; once it
has been unavailable for ``detection_s``, the standby is promoted, which takes ``promotion_s``; the
database then answers again from the standby's zone. This is the only way back from a
``database_failover`` fault (the primary is lost for good); it also ends a ``database_down`` or zone
outage of the primary that lasts longer than detection plus promotion. Queries already running or
waiting for a connection keep their own course (they finish or time out as before).

No promotion while the standby's zone is out (the fault ledger's zone outages): the database waits for it. After a
promotion the old primary becomes the standby, usable only once the faults that held it have ended; one
lost to an instant fault (``database_failover``, a cleanup job) never comes back, so a second failure
finds no standby. A zone outage that begins during the promotion holds the promoted database too.
"""

from __future__ import annotations

from typing import Any

from sim.engine.timeline import Cause
from sim.resilience.controllers import fault_active, zone_outages
from sim.spec.topology import DatabaseReplicaSpec

CHECK_PERIOD_S = 5.0
"""How often the failover manager looks at the primary (Patroni loop_wait is 10 s; illustrative)."""


class DatabaseFailover:
    """Promotes a standby when the primary database stops answering (see the module docstring)."""

    def __init__(self, spec: DatabaseReplicaSpec, database: Any):
        self.spec = spec
        self.database = database
        self.standby_zone = spec.zone or database.zone
        self.standby_holds: set[str] = set()
        """Faults that held the old primary when it became the standby: usable when all have ended."""
        self.promotions: list[float] = []
        self._down_since: float | None = None
        self._promoting = False
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world
        world.call_later(CHECK_PERIOD_S, self._check)

    def standby_ready(self) -> bool:
        """The standby can take over: its zone is up and nothing still holds it.

        A hold from a windowed fault ends with the fault (the fault ledger's ``active``); one from an instant
        fault (key ``id#n``) is for good.
        """
        world = self._world
        if zone_outages(world, self.standby_zone):
            return False
        self.standby_holds = {k for k in self.standby_holds if "#" in k or fault_active(world, k)}
        return not self.standby_holds

    def _check(self) -> None:
        world = self._world
        db = self.database
        now = world.now
        if db.available or self._promoting:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now
        elif now - self._down_since >= self.spec.detection_s and self.standby_ready():
            self._promoting = True
            world.call_later(self.spec.promotion_s, self._promoted)
        world.call_later(CHECK_PERIOD_S, self._check)

    def promote_now(self, reason: str) -> bool:
        """Operators promote the standby now, even while the primary still answers (it is overwhelmed, say):
        the promotion takes ``promotion_s`` as an automatic one does. False when no standby is ready or a
        promotion is already under way."""
        if self._promoting or not self.standby_ready():
            return False
        self._promoting = True
        self._world.call_later(self.spec.promotion_s, self._promoted, reason)
        return True

    def _promoted(self, forced_by: str | None = None) -> None:
        world = self._world
        db = self.database
        self._promoting = False
        self._down_since = None
        if db.available and forced_by is None:
            return
        new_zone, old_zone = self.standby_zone, db.zone
        outages = zone_outages(world, new_zone)
        self.standby_holds = db.holds.keys() - outages  # the old primary keeps what held it, as the standby
        self.standby_zone = old_zone
        self.promotions.append(world.now)
        parent = world.timeline.last_transition.get(db.name)
        parents = (parent,) if parent is not None else ()
        detail = f"standby in {new_zone} promoted to primary" + (f" by {forced_by}" if forced_by else "")
        if outages:
            detail += f"; zone {new_zone} is down"
        db.promote(new_zone, outages, Cause("mechanism", db.name, "replica_promotion", detail, parents))
