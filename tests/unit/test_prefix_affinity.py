"""Cache-aware routing: the longest cached prefix wins within the load bound; the trade-off is visible."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim import parse_scenario, run
from sim.components.prefix_cache import PrefixCache, session_blocks
from sim.resilience.policies.balancing import BALANCERS
from sim.spec.policies import BalancingSpec


def _replicas(n: int, outstanding: list[int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=f"r{i}", zone="zone-a", outstanding=outstanding[i], prefix_cache=PrefixCache(100, 4))
            for i in range(n)]


def _attempt(blocks: list[int] | None, user: int = 0, prompt: int = 16) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(prefix_blocks=blocks, session=None, user=user, prompt_tokens=prompt))


def _balancer(load_factor: float = 1.25):
    spec = BalancingSpec(kind="prefix_affinity", load_factor=load_factor)
    return BALANCERS.create("prefix_affinity", np.random.default_rng(1), 2, spec, "zone-a")


def test_longest_cached_prefix_wins():
    pool = _replicas(3, [1, 1, 1])
    pool[1].prefix_cache.lookup_and_store([1, 2])
    pool[2].prefix_cache.lookup_and_store([1, 2, 3])
    assert _balancer().pick(pool, _attempt([1, 2, 3, 4])) is pool[2]
    assert _balancer().pick(pool, _attempt([1, 2, 9])) in (pool[1], pool[2])
    assert _balancer().pick(pool, _attempt([7])) in pool  # no hit anywhere: least outstanding


def test_cache_share_is_weighed_against_the_queue():
    pool = _replicas(2, [5, 0])
    pool[0].prefix_cache.lookup_and_store([1, 2, 3, 4])
    # replica 0 holds half of the prompt: score 5 - 8 * 0.5 = 1 against 0 for the idle replica
    assert _balancer(10.0).pick(pool, _attempt([1, 2, 9, 9])) is pool[1]
    # the whole prompt: 5 - 8 = -3 wins
    assert _balancer(10.0).pick(pool, _attempt([1, 2, 3, 4])) is pool[0]


def test_load_bound_sends_work_away_from_an_overloaded_cached_replica():
    pool = _replicas(4, [3, 0, 0, 0])
    pool[0].prefix_cache.lookup_and_store([1, 2, 3])
    balancer = _balancer(1.25)  # bound ceil(1.25 * 4 / 4) = 2 < 3 + 1
    assert balancer.pick(pool, _attempt([1, 2, 3])) is not pool[0]
    assert balancer.bounded == 1
    assert _balancer(10.0).pick(pool, _attempt([1, 2, 3])) is pool[0]  # a loose bound keeps affinity


def test_requests_without_ids_follow_their_session():
    pool = _replicas(2, [0, 0])
    pool[1].prefix_cache.lookup_and_store(session_blocks(5, 16, 4))
    assert _balancer().pick(pool, _attempt(None, user=5)) is pool[1]


def _mooncake(balancing: str) -> dict:
    return {
        "name": "affinity",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["gpu"], "balancing": {"kind": balancing}}],
            "pools": [{"name": "gpu", "replicas": 8, "server": {
                "mode": "llm", "kv_cache_tokens": 200_000, "prefix_cache": {"capacity_tokens": 1_000_000}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "trace", "path": "builtin:mooncake_conv", "to_s": 300.0}}]},
        "policies": {"health_check": {"enabled": False}},
        "run": {"duration_s": 400.0, "warmup_s": 0.0},
    }


@pytest.mark.parametrize("balancing", ["round_robin", "least_outstanding"])
def test_affinity_raises_the_hit_rate_and_lowers_ttft_at_a_bounded_skew(balancing):
    results = {b: run(parse_scenario(_mooncake(b)), seed=1).summary for b in (balancing, "prefix_affinity")}
    figures = {}
    for b, summary in results.items():
        comps = summary["components"]
        caches = [c["prefix_cache"] for c in comps.values() if c.get("kind") == "server"]
        hit = sum(c["hit_blocks"] for c in caches) / sum(c["looked_up_blocks"] for c in caches)
        figures[b] = (hit, comps["lb"]["load_skew"], summary["measured"]["ttft_s"]["mean"])
        print(f"{b}: hit rate {hit:.3f}, load skew {figures[b][1]:.2f}, mean TTFT {figures[b][2]:.2f} s")
    base, aff = figures[balancing], figures["prefix_affinity"]
    assert aff[0] > 2 * base[0]  # the hit rate at least doubles
    assert aff[2] < 0.8 * base[2]  # and the mean TTFT falls by a fifth or more
    assert aff[1] < 1.25 + 0.1  # the load bound keeps the busiest replica near load_factor x the mean
