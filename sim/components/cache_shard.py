"""One shard of a sharded cache (a Redis node): a few commands at once, a FIFO of waiting commands, and
callers who give up after their timeout while the shard still runs what they sent (wasted work).

That last point is what lets a shard fail under load and stay failed: once its queue holds more than it
can serve within the callers' timeout, every answer comes too late, callers retry, and the shard spends
all its time on commands nobody waits for. The optional backoff (``ShardBackoff``) is the follow-up of
incident 2: callers stop sending to a shard whose commands keep timing out, for a window that doubles
while it keeps failing, so its queue drains.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sim.engine.distributions import Exponential, Sampler
from sim.engine.world import World


class ShardBackoff:
    """Callers' backoff from one struggling shard: after ``failure_threshold`` timeouts in a row, fail
    lookups at once for ``base_s`` (doubling per consecutive opening, up to ``cap_s``); a success closes it."""

    def __init__(self, failure_threshold: int, base_s: float, cap_s: float):
        self.failure_threshold = failure_threshold
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self.openings = 0
        self.open_until_s = -1.0

    def allows(self, now_s: float) -> bool:
        return now_s >= self.open_until_s

    def record(self, ok: bool, now_s: float) -> bool:
        """Count one answer; True when this answer opens the backoff window."""
        if ok:
            self.failures = 0
            self.openings = 0
            return False
        self.failures += 1
        if self.failures < self.failure_threshold or now_s < self.open_until_s:
            return False
        self.failures = 0
        self.open_until_s = now_s + min(self.cap_s, self.base_s * 2 ** self.openings)
        self.openings += 1
        return True


class CacheShard:
    """``lookup(on_done, *args)`` ends with ``on_done(*args, ok)``: ok once the command ran within the
    caller's ``timeout_s``, not ok when the caller gave up, the queue was full or the backoff is open."""

    def __init__(self, world: World, index: int, concurrency: int, queue_capacity: int, service: Sampler,
                 timeout_s: float, backoff: ShardBackoff | None = None):
        self.world = world
        self.index = index
        self.concurrency = concurrency
        self.queue_capacity = queue_capacity
        self.service = service
        self.timeout_s = timeout_s
        self.backoff = backoff
        self.busy = 0
        self.waiting: deque[list[Any]] = deque()
        self.served = 0
        self.wasted = 0
        """Commands run after their caller had given up."""
        self.timeouts = 0
        self.refused = 0
        self.overloaded = False
        self._on_hi = 0
        self._on_lo = 0
        self.watchers: list[Callable[[CacheShard], None]] = []

    def set_capacity(self, concurrency: int) -> None:
        """Commands served at once (scaling the cache up or down); waiting commands start at once."""
        self.concurrency = concurrency
        self._on_hi = 0
        self._start_waiting()

    def lookup(self, on_done: Callable[..., None], *args: Any) -> None:
        now = self.world.env.now
        if self.backoff is not None and not self.backoff.allows(now):
            self.refused += 1
            on_done(*args, False)
            return
        if self.busy >= self.concurrency and len(self.waiting) >= self.queue_capacity:
            self.refused += 1
            self.world.call_later(0.0, on_done, *args, False)
            return
        entry = [on_done, args, False]
        self.world.call_later(self.timeout_s, self._gave_up, entry)
        if self.busy < self.concurrency:
            self._start(entry)
        else:
            self.waiting.append(entry)
            self._check_load()

    def _start(self, entry: list[Any]) -> None:
        self.busy += 1
        self.world.call_later(self.service(), self._done, entry)

    def _start_waiting(self) -> None:
        while self.waiting and self.busy < self.concurrency:
            self._start(self.waiting.popleft())
        self._check_load()

    def _done(self, entry: list[Any]) -> None:
        self.busy -= 1
        self._start_waiting()
        if entry[2]:
            self.wasted += 1
            return
        entry[2] = True
        self.served += 1
        if self.backoff is not None:
            self.backoff.record(True, self.world.env.now)
        entry[0](*entry[1], True)

    def _gave_up(self, entry: list[Any]) -> None:
        if entry[2]:
            return
        entry[2] = True
        self.timeouts += 1
        if self.backoff is not None:
            self.backoff.record(False, self.world.env.now)
        entry[0](*entry[1], False)

    def _check_load(self) -> None:
        """Overloaded while the queue is longer than what the shard serves within the callers' timeout."""
        q = len(self.waiting)
        if not self._on_hi:
            self._on_hi = max(2, int(self.concurrency / self.service.dist.mean * self.timeout_s))
            self._on_lo = self._on_hi // 2
        if not self.overloaded and q >= self._on_hi or self.overloaded and q <= self._on_lo:
            self.overloaded = not self.overloaded
            for watch in self.watchers:
                watch(self)

    def report(self) -> dict[str, int]:
        return {"served": self.served, "wasted": self.wasted, "timeouts": self.timeouts, "refused": self.refused}


def build_shards(world: World, name: str, spec: Any) -> list[CacheShard] | None:
    """The shards of cache ``spec`` with a per-shard capacity (``shard_concurrency``); None: lookups never queue."""
    if spec.shard_concurrency is None:
        return None
    shards = []
    for i in range(spec.shards):
        backoff = None if spec.backoff is None else ShardBackoff(
            spec.backoff.failure_threshold, spec.backoff.base_s, spec.backoff.cap_s)
        service = Sampler(Exponential(spec.lookup_s), world.streams.get(f"{name}/shard-{i}", "lookup"))
        shards.append(CacheShard(world, i, spec.shard_concurrency, spec.shard_queue_capacity, service,
                                 spec.timeout_s, backoff))
    return shards
