"""Prefix-cache settings of an LLM replica (pure data)."""

from __future__ import annotations

from pydantic import Field

from sim.spec.common import StrictModel


class PrefixCacheSpec(StrictModel):
    """A replica's cache of prompt-prefix KV blocks (LRU); a hit skips the prefill of the cached blocks.

    Blocks are the trace's prefix block ids (Mooncake ``hash_ids``), or, for requests without ids,
    the session's (user's) n-th block. ``block_tokens`` must be the trace's block size (512 for
    Mooncake). The cache has its own capacity rather than sharing the KV cache with running
    requests (a simplification); a crash or restart empties it.
    """

    capacity_tokens: int = Field(ge=1, le=10**12, description="Tokens of prefix KV the replica keeps.")
    block_tokens: int = Field(512, ge=1, le=10**6, description="Tokens per KV block (the trace's block size).")
