"""The prefix cache against an offline LRU, and TTFT against the prefill model with cache hits.

The reference LRU below is written independently of sim.components.prefix_cache: a plain list,
most recent last. A lookup counts the leading blocks present, then stores all the prompt's blocks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim import parse_scenario
from sim.assembly import build_stack
from sim.components.prefix_cache import PrefixCache
from sim.engine.traces import load_trace
from sim.engine.world import World
from sim.faults import schedule_faults

BLOCK = 512


def offline_lru_hits(sequence: list[list[int]], capacity: int, reset_before: set[int] = frozenset()) -> list[int]:
    """Leading cached blocks of each lookup (the cache emptied before the lookups in reset_before)."""
    cache: list[int] = []
    hits = []
    for i, blocks in enumerate(sequence):
        if i in reset_before:
            cache = []
        h = 0
        while h < len(blocks) and blocks[h] in cache:
            h += 1
        hits.append(h)
        for b in blocks:
            if b in cache:
                cache.remove(b)
            cache.append(b)
        del cache[: max(0, len(cache) - capacity)]
    return hits


def test_cache_equals_offline_lru_on_random_prefix_sequences():
    rng = np.random.default_rng(3)
    for capacity in (1, 5, 40):
        seqs = []
        for _ in range(400):
            root = int(rng.integers(0, 6))  # shared first blocks, as conversations share a system prompt
            seqs.append([root * 100 + j for j in range(int(rng.integers(0, 5)))] + list(rng.integers(1000, 1060, 3)))
        cache = PrefixCache(capacity, BLOCK)
        got = [cache.lookup_and_store(s) for s in seqs]
        assert got == offline_lru_hits(seqs, capacity)
        assert len(cache) <= capacity


def _mooncake_scenario(replicas: int, capacity_tokens: int, balancing: str = "round_robin", **arrival):
    return parse_scenario({
        "name": "prefix",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["gpu"], "balancing": {"kind": balancing}}],
            "pools": [{"name": "gpu", "replicas": replicas, "server": {
                "mode": "llm", "kv_cache_tokens": 10_000_000, "max_batch_size": 256, "queue_capacity": 100_000,
                "prefix_cache": {"capacity_tokens": capacity_tokens, "block_tokens": BLOCK}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "trace", "path": "builtin:mooncake_conv", **arrival}}]},
        "policies": {"health_check": {"enabled": False}},
        "run": {"duration_s": 400.0, "warmup_s": 0.0},
    })


def _simulate(scenario, seed: int = 1):
    world = World(seed, scenario.run.duration_s, scenario.run.bucket_s, scenario.run.warmup_s, True)
    stack = build_stack(scenario, world)
    for server in stack.servers:
        server.prefix_cache.seen = []  # record every lookup's block sequence (validation only)
    schedule_faults(scenario, stack, world)
    world.env.run(until=scenario.run.duration_s)
    return world, stack


@pytest.mark.parametrize("balancing", ["round_robin", "prefix_affinity"])
def test_hit_rate_per_replica_equals_an_offline_lru_of_the_blocks_it_saw(balancing):
    sc = _mooncake_scenario(4, 2000 * BLOCK, balancing, to_s=120.0)
    world, stack = _simulate(sc)
    trace = load_trace("builtin:mooncake_conv", to_s=120.0)
    seen_all = []
    for server in stack.servers:
        cache = server.prefix_cache
        seen = [list(s) for s in cache.seen]
        seen_all += seen
        hits = offline_lru_hits(seen, cache.capacity_blocks)
        assert cache.hit_blocks == sum(hits)
        assert cache.looked_up_blocks == sum(len(s) for s in seen)
        print(f"{server.name}: {cache.lookups} lookups, hit rate {cache.hit_rate:.3f} (offline LRU the same)")
    # every request was looked up exactly once (no preemption, nothing lost): the replicas saw the trace
    assert sorted(map(tuple, seen_all)) == sorted(tuple(trace.blocks_of(i).tolist()) for i in range(len(trace)))


def _single_replica_scenario(trace_path: str, capacity_blocks: int, faults=()):
    return parse_scenario({
        "name": "ttft",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["gpu"]}],
            "pools": [{"name": "gpu", "replicas": 1, "server": {
                "mode": "llm", "model_load_s": 5.0,
                "prefix_cache": {"capacity_tokens": capacity_blocks * BLOCK, "block_tokens": BLOCK}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "trace", "path": trace_path, "format": "mooncake"}}]},
        "policies": {"health_check": {"enabled": False}},
        "faults": list(faults),
        "run": {"duration_s": 2000.0, "warmup_s": 0.0},
    })


@pytest.mark.parametrize("crash", [False, True])
def test_ttft_falls_with_the_hit_rate_as_the_prefill_model_predicts(tmp_path, crash):
    """Requests 10 s apart on an idle replica: TTFT is exactly one prefill of the uncached tokens."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(150):
        shared = int(rng.integers(0, 4))
        n_shared, n_own = int(rng.integers(1, 12)), int(rng.integers(0, 6))
        blocks = [shared * 1000 + j for j in range(n_shared)] + [10_000 + 100 * i + j for j in range(n_own)]
        prompt = (len(blocks) - 1) * BLOCK + int(rng.integers(1, BLOCK + 1))
        rows.append({"timestamp": i * 10_000, "input_length": prompt, "output_length": 2, "hash_ids": blocks})
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    faults = [{"id": "crash-1", "kind": "crash", "target": {"pool": "gpu", "count": 1}, "at_s": 703.0,
               "restart_delay_s": 0.0}] if crash else []
    sc = _single_replica_scenario(str(path), 30, faults)
    world, stack = _simulate(sc)
    spec = sc.topology.pools[0].server
    records = sorted(world.metrics.records, key=lambda r: r[3])
    ttft = np.array([r[8] for r in records], dtype=float)
    served = np.array([r[5] == "success" for r in records])
    # the crash at 703 s empties the cache (the replica restarts at once and serves again at 708 s): the
    # request at 710 s finds it cold
    reset = {i for i, r in enumerate(rows) if crash and r["timestamp"] / 1000 >= 703}
    reset = {min(reset)} if reset else set()
    hits = offline_lru_hits([r["hash_ids"] for r in rows], 30, reset)
    predicted = np.array([spec.prefill_base_s + spec.prefill_per_token_s
                          * (r["input_length"] - min(h * BLOCK, r["input_length"] - 1)) for r, h in zip(rows, hits,
                                                                                                         strict=True)])
    assert served.all()
    assert np.allclose(ttft, predicted, rtol=1e-9, atol=1e-9)
    hit_rate = sum(hits) / sum(len(r["hash_ids"]) for r in rows)
    cache = stack.servers[0].prefix_cache
    assert cache.hit_rate == pytest.approx(hit_rate)
    assert cache.clears == (1 if crash else 0)
    cold = spec.prefill_base_s + spec.prefill_per_token_s * np.array([r["input_length"] for r in rows])
    print(f"hit rate {hit_rate:.3f}: mean TTFT {ttft.mean() * 1000:.1f} ms, {cold.mean() * 1000:.1f} ms with no cache")
    assert ttft.mean() < cold.mean() * (1 - 0.5 * hit_rate)
