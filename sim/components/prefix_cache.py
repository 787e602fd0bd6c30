"""A replica's prefix cache of KV blocks: LRU over block ids, a hit skips the prefill of cached blocks.

Blocks are identified as the trace identifies them (Mooncake's ``hash_ids``: equal ids mean an equal
prefix, so a block can only be reused when every block before it is too), or, for a trace without
ids, by the request's session: a session's n-th block is the same block in each of its requests
(a conversation resends its history). A lookup walks the prompt's blocks from the first and stops
at the first miss, as vLLM's automatic prefix caching does; then every block of the prompt is
stored (computed now, or touched), the least recently used blocks making room.

Simplification: the cache has its own capacity (``capacity_blocks``) instead of sharing the
KV-cache memory left free by running requests. A crash or restart empties it (the GPU memory goes
with the process), so a restarted replica is cold until its users' prefixes come back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class PrefixCache:
    """LRU set of KV block ids with hit counting (per lookup, in blocks)."""

    def __init__(self, capacity_blocks: int, block_tokens: int, record: bool = False):
        self.capacity_blocks = capacity_blocks
        self.block_tokens = block_tokens
        self._lru: OrderedDict[int, None] = OrderedDict()
        self.lookups = 0
        self.looked_up_blocks = 0
        self.hit_blocks = 0
        self.evictions = 0
        self.clears = 0
        self.seen: list[tuple[int, ...]] | None = [] if record else None
        """With ``record``: every looked-up block sequence in order (for the offline-LRU check)."""

    def __len__(self) -> int:
        return len(self._lru)

    def lookup_and_store(self, blocks: Iterable[int]) -> int:
        """Blocks of the prompt's cached prefix (leading hits); then stores all of them as most recent."""
        blocks = tuple(blocks)
        if self.seen is not None:
            self.seen.append(blocks)
        lru = self._lru
        hits = 0
        for b in blocks:
            if b not in lru:
                break
            hits += 1
        for b in blocks:
            if b in lru:
                lru.move_to_end(b)
            else:
                lru[b] = None
        excess = len(lru) - self.capacity_blocks
        for _ in range(max(0, excess)):
            lru.popitem(last=False)
        self.evictions += max(0, excess)
        self.lookups += 1
        self.looked_up_blocks += len(blocks)
        self.hit_blocks += hits
        return hits

    def contains_prefix(self, blocks: Iterable[int]) -> int:
        """How many leading blocks are cached, without touching anything (for cache-aware routing)."""
        lru = self._lru
        n = 0
        for b in blocks:
            if b not in lru:
                break
            n += 1
        return n

    def clear(self) -> None:
        """Everything lost (the process is gone)."""
        if self._lru:
            self.clears += 1
        self._lru.clear()

    @property
    def hit_rate(self) -> float | None:
        """Share of looked-up blocks that were served from the cache."""
        return self.hit_blocks / self.looked_up_blocks if self.looked_up_blocks else None

    def stats(self) -> dict[str, float | int | None]:
        """End-of-run figures for the summary."""
        return {
            "lookups": self.lookups, "looked_up_blocks": self.looked_up_blocks, "hit_blocks": self.hit_blocks,
            "hit_rate": self.hit_rate, "evictions": self.evictions, "emptied": self.clears,
            "capacity_blocks": self.capacity_blocks,
        }


def session_blocks(session: int, prompt_tokens: int, block_tokens: int) -> range | list[int]:
    """Block keys of a session's prompt when the trace has no ids: (session, position), kept negative
    so they never collide with a trace's own (non-negative) ids."""
    n = -(-prompt_tokens // block_tokens)
    base = -(session + 1) << 24
    return [base - i for i in range(n)]
