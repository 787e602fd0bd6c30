"""Cache-aware routing: send a request where its prompt's prefix is cached, within a load bound.

As llm-d's prefix-cache scorer and Mooncake's conductor do, the replica holding the longest cached
prefix of the prompt wins, so conversations keep hitting the replica that has their history. Pure
affinity piles a popular prefix (a shared system prompt) onto one replica; the load bound keeps
every replica within ``load_factor`` times the mean load (consistent hashing with bounded loads,
Mirrokni et al. 2018): a replica is eligible when its outstanding requests, plus this one, stay
within ``ceil(load_factor * (total outstanding + 1) / replicas)``. Among eligible replicas the
lowest score wins: outstanding requests minus ``cache_weight`` times the share of the prompt's
blocks it has cached (a queue-time estimate in units of requests, as Mooncake's conductor weighs
queueing against the prefill a hit saves; 8 is an illustration tuned on the Mooncake trace, not a
measurement), then the longest cached prefix, ties in turn. A replica without a prefix cache, or a
request without blocks, counts as no hit (the policy is then least outstanding).
"""

from __future__ import annotations

import math
from typing import Any

from sim.components.prefix_cache import session_blocks
from sim.resilience.policies.balancing import BALANCERS


def prompt_blocks(request: Any, block_tokens: int) -> list[int] | None:
    """The prompt's block keys as a replica's prefix cache stores them (trace ids, else session blocks)."""
    blocks = getattr(request, "prefix_blocks", None)
    if blocks is not None:
        return blocks
    prompt = getattr(request, "prompt_tokens", None)
    if prompt is None:
        return None
    session = getattr(request, "session", None)
    return session_blocks(request.user if session is None else session, prompt, block_tokens)


@BALANCERS.register("prefix_affinity")
class PrefixAffinity:
    """Longest cached prefix among the replicas within the load bound (see module docstring)."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self.load_factor = 1.25 if spec is None else spec.load_factor
        self.cache_weight = 8.0 if spec is None else spec.cache_weight
        self._i = 0
        self.affinity_hits = 0
        """Attempts sent to a replica holding part of their prefix."""
        self.bounded = 0
        """Attempts whose best-cached replica was over the load bound (sent elsewhere)."""

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        n = len(candidates)
        self._i += 1
        start = self._i % n
        order = candidates[start:] + candidates[:start]
        total = sum(s.outstanding for s in candidates)
        bound = math.ceil(self.load_factor * (total + 1) / n)
        request = attempt.request
        best, best_key, best_any = None, None, 0
        blocks_by_size: dict[int, list[int] | None] = {}
        for s in order:
            cache = getattr(s, "prefix_cache", None)
            cached, share = 0, 0.0
            if cache is not None:
                size = cache.block_tokens
                if size not in blocks_by_size:
                    blocks_by_size[size] = prompt_blocks(request, size)
                blocks = blocks_by_size[size]
                if blocks:
                    cached = cache.contains_prefix(blocks)
                    share = cached / len(blocks)
            best_any = max(best_any, cached)
            if s.outstanding + 1 > bound:
                continue
            key = (s.outstanding - self.cache_weight * share, -cached)
            if best_key is None or key < best_key:
                best, best_key = s, key
        if best is None:  # every replica at the bound: the least loaded (the bound is a share, not a cap)
            best = min(order, key=lambda s: s.outstanding)
            best_key = (best.outstanding, 0)
        if best_key[1] < 0:
            self.affinity_hits += 1
        if -best_key[1] < best_any:
            self.bounded += 1
        return best
