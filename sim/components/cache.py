"""A look-aside cache in front of a database: a hit costs a lookup, a miss a database query and a fill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.components.effects import Effects
from sim.components.lifecycle import HeldOutOfService, Holds
from sim.engine.timeline import Cause
from sim.engine.world import World


class Cache(HeldOutOfService):
    """Keys are users modulo ``key_space``; entries live ``ttl_s``. ``flush()`` empties it (cold cache).

    The current caller's key is passed through ``key`` before ``call`` (set by the server from the
    attempt's user), so the cache needs no per-request state of its own.
    """

    kind = "cache"

    def __init__(self, world: World, name: str, zone: str, database: Any, key_space: int, ttl_s: float,
                 lookup_s: float):
        self.world = world
        self.name = name
        self.zone = zone
        self.database = database
        self.key_space = key_space
        self.ttl_s = ttl_s
        self.lookup_s = lookup_s
        self.entries: dict[int, float] = {}
        self.hits = 0
        self.misses = 0
        self.available = True
        """False while anything holds it (``holds``)."""
        self.holds = Holds()
        self.effects = Effects(())
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed"))

    def call_for(self, user: int, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Look up the user's entry; on a miss, query the database and fill."""
        key = user % self.key_space
        now = self.world.env.now
        expiry = self.entries.get(key)
        rtt = 2 * self.world.network.latency_s(zone, self.zone)
        if self.available and expiry is not None and expiry > now:
            self.hits += 1
            self.world.call_later(self.lookup_s + rtt, on_done, *args, True)
            return
        self.misses += 1
        if self.world.network.cut(self.name, self.database.name):
            self.world.call_later(rtt, on_done, *args, False)
            return
        self.database.call(zone, self._filled, key, on_done, args)

    def _filled(self, key: int, on_done: Callable[..., None], args: tuple, ok: bool) -> None:
        if ok and self.available:
            self.entries[key] = self.world.env.now + self.ttl_s
        on_done(*args, ok)

    def _on_held(self) -> None:
        """A cache that goes down loses every entry: lookups miss until it refills."""
        self.flush()

    def flush(self) -> None:
        """Lose every entry: the following requests miss and go to the database."""
        self.entries.clear()

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        total = self.hits + self.misses
        return {"kind": self.kind, "hits": self.hits, "misses": self.misses,
                "hit_ratio": self.hits / total if total else None}
