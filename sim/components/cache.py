"""A look-aside cache in front of a database: a hit costs a lookup, a miss a database query and a fill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.components.cache_shard import CacheShard
from sim.components.effects import Effects
from sim.components.lifecycle import HeldOutOfService, Holds
from sim.engine.blame import client_loads, feeding_clients, load_text
from sim.engine.timeline import Cause, Load
from sim.engine.world import World


class Cache(HeldOutOfService):
    """Keys are users modulo ``key_space``; entries live ``ttl_s``. ``flush()`` empties it (cold cache).

    The current caller's key is passed through ``key`` before ``call`` (set by the server from the
    attempt's user), so the cache needs no per-request state of its own.

    With ``shards`` (``sim.components.cache_shard``), each user (a customer) is hashed to one shard,
    and every lookup of that user's entry runs on that shard's few command slots: a shard that falls
    behind fails exactly the customers hashed to it (incident 2). A lookup that fails on its shard fails
    the call (the caller's timeout, not a miss): it does not go to the database.
    """

    kind = "cache"

    def __init__(self, world: World, name: str, zone: str, database: Any, key_space: int, ttl_s: float,
                 lookup_s: float, shards: list[CacheShard] | None = None):
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
        self.shards = shards or []
        for shard in self.shards:
            shard.watchers.append(self._shard_changed)
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed"))

    def shard_of(self, user: int) -> int:
        """The shard a user's entry lives on: a fixed 32-bit hash of the user (Redis-cluster-like slots)."""
        x = (user * 0x9E3779B1) & 0xFFFFFFFF
        x ^= x >> 16
        x = (x * 0x85EBCA6B) & 0xFFFFFFFF
        x ^= x >> 13
        return x % len(self.shards) if self.shards else 0

    def scale(self, factor: float, cause: Cause) -> None:
        """Every shard serves ``factor`` times as many commands at once (scaling the cache: the port's verb
        for operators); at least one each."""
        for shard in self.shards:
            shard.set_capacity(max(1, round(shard.concurrency * factor)))
        self.world.set_state(self.name, self.world.timeline.current.get(self.name, "healthy"), cause, force=True)

    def _shard_changed(self, shard: CacheShard) -> None:
        hot = [s.index for s in self.shards if s.overloaded]
        state = self.world.timeline.current.get(self.name)
        if state not in ("healthy", "overloaded"):
            return
        detail = (f"shard {shard.index} overloaded: {len(shard.waiting)} commands waiting, more than it serves "
                  f"within the callers' {shard.timeout_s:g} s" if shard.overloaded
                  else f"shard {shard.index} drained")
        detail += f" (overloaded shards: {', '.join(map(str, hot)) or 'none'})"
        loads = self._loads() if shard.overloaded else ()
        self.world.set_state(self.name, "overloaded" if hot else "healthy",
                             Cause("mechanism", self.name, "shard_overload", detail + load_text(loads), loads=loads),
                             force=True)

    def _loads(self) -> tuple[Load, ...]:
        """Who loads the cache (asked at the change only): the load sources of the clients feeding the
        replicas that look their callers up here (a surge, their retries, else their own demand)."""
        world = self.world
        callers = [c.name for c in world.components.values()
                   if getattr(c, "kind", None) == "server" and getattr(c, "dependency", None) is self]
        clients: dict[str, Any] = {}
        for name in callers:
            for c in feeding_clients(world.components, name):
                clients.setdefault(c.name, c)
        return client_loads(clients.values(), world.env.now)

    def call_for(self, user: int, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        """Look up the user's entry; on a miss, query the database and fill."""
        if self.shards and self.available:
            self.shards[self.shard_of(user)].lookup(self._looked_up, user, zone, on_done, args)
            return
        self._lookup(user, zone, on_done, args, self.lookup_s)

    def _looked_up(self, user: int, zone: str, on_done: Callable[..., None], args: tuple, ok: bool) -> None:
        if ok:
            self._lookup(user, zone, on_done, args, 0.0)  # the shard already spent the lookup time
        else:
            on_done(*args, False)

    def _lookup(self, user: int, zone: str, on_done: Callable[..., None], args: tuple, lookup_s: float) -> None:
        key = user % self.key_space
        now = self.world.env.now
        expiry = self.entries.get(key)
        rtt = 2 * self.world.network.latency_s(zone, self.zone)
        if self.available and expiry is not None and expiry > now:
            self.hits += 1
            self.world.call_later(lookup_s + rtt, on_done, *args, True)
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
        out: dict[str, object] = {"kind": self.kind, "hits": self.hits, "misses": self.misses,
                                  "hit_ratio": self.hits / total if total else None}
        if self.shards:
            out["shards"] = [s.report() for s in self.shards]
        return out
