"""Sharded cache (sim/components/cache_shard.py): customers hashed to shards with a few command slots
each; a shard past its capacity fails exactly its customers; callers' backoff lets it drain; scaling."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from sim.components.cache_shard import ShardBackoff
from sim.experiment.run import run_with_stack
from sim.spec.loader import ScenarioError, parse_scenario

USERS = 48
SHARDS = 4


def stack(rate_rps: float, concurrency: int = 2, backoff: dict | None = None, duration_s: float = 240.0,
          record: bool = False) -> tuple[Any, Any]:
    cache: dict[str, Any] = {"name": "auth", "database": "db", "key_space": USERS, "ttl_s": 3600,
                             "shards": SHARDS, "shard_concurrency": concurrency, "lookup_s": 0.1, "timeout_s": 2.0}
    if backoff is not None:
        cache["backoff"] = backoff
    data = {
        "name": "shards",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["api"]}],
            "pools": [{"name": "api", "replicas": 2, "database": "auth",
                       "server": {"mode": "plain", "concurrency": 64,
                                  "service_time_s": {"kind": "exponential", "mean": 0.01}}}],
            "databases": [{"name": "db"}],
            "caches": [cache],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "users": USERS, "timeout_s": 20,
                                  "retry": {"max_attempts": 3, "backoff_base_s": 0.05, "backoff_cap_s": 0.1},
                                  "arrival": {"kind": "poisson", "rate_rps": rate_rps}}]},
        "run": {"duration_s": duration_s, "warmup_s": 60, "seed": 3, "bucket_s": 10},
    }
    return run_with_stack(parse_scenario(data), record_requests=record)


def per_user_failure(result: Any) -> dict[int, float]:
    req = result.requests
    users = np.asarray(req["user"])
    ok = np.asarray(req["outcome"]) == "success"
    return {int(u): float(1 - ok[users == u].mean()) for u in np.unique(users)}


def test_a_users_lookups_run_on_its_own_shard_and_the_hash_spreads_users():
    _, st = stack(10.0, duration_s=80)
    cache = st.by_name["auth"]
    shards = Counter(cache.shard_of(u) for u in range(USERS))
    assert set(shards) == set(range(SHARDS)) and min(shards.values()) >= USERS / SHARDS / 2
    served = sum(s.served for s in cache.shards)
    assert served > 0 and all(s.timeouts == 0 for s in cache.shards)  # far below capacity: no timeouts


def test_a_shard_past_capacity_fails_exactly_the_customers_hashed_to_it():
    # capacity 20 commands/s per shard; 72 requests/s spread over 4 shards by customer (16, 11, 11, 10 of the
    # 48 customers): the busiest shard is past capacity (24 commands/s), the others below (at most 16.5).
    result, st = stack(72.0, record=True)
    cache = st.by_name["auth"]
    load = Counter(cache.shard_of(u) for u in range(USERS))
    failing = per_user_failure(result)
    per_shard = {k: [failing[u] for u in failing if cache.shard_of(u) == k] for k in range(SHARDS)}
    over = {k for k in range(SHARDS) if 72.0 * load[k] / USERS > 20.0}
    assert over and over != set(range(SHARDS))
    for k, shares in per_shard.items():
        if k in over:
            assert np.mean(shares) > 0.5, k
        else:
            assert max(shares) < 0.05, k  # a customer on a shard within capacity is not affected
    # an overloaded shard serves commands nobody waits for any more (wasted work)
    assert all(cache.shards[k].wasted > 0 for k in over)
    assert any(t.component == "auth" and t.state == "overloaded" and t.cause.mechanism == "shard_overload"
               for t in result.transitions)


def test_backoff_from_a_struggling_shard_lets_it_serve_at_capacity_instead_of_nothing():
    stuck, st = stack(72.0)
    backed, bt = stack(72.0, backoff={"failure_threshold": 5, "base_s": 1, "cap_s": 8})
    def goodput(s):
        return sum(sh.served for sh in s.by_name["auth"].shards)
    assert goodput(bt) > 1.2 * goodput(st)
    assert stuck.summary["measured"]["outcomes"]["success"] < backed.summary["measured"]["outcomes"]["success"]


def test_shard_backoff_opens_after_the_threshold_doubles_and_closes_on_success():
    b = ShardBackoff(failure_threshold=2, base_s=1.0, cap_s=3.0)
    assert not b.record(False, 0.0) and b.record(False, 0.0)  # second timeout in a row opens it
    assert not b.allows(0.5) and b.allows(1.0)
    b.record(False, 1.0)
    assert b.record(False, 1.0) and not b.allows(2.9) and b.allows(3.0)  # doubled: 2 s
    b.record(False, 3.0)
    assert b.record(False, 3.0) and b.allows(6.0)  # capped at 3 s
    b.record(True, 6.0)
    assert b.openings == 0 and b.failures == 0


def test_scaling_the_cache_multiplies_every_shards_slots():
    _, st = stack(10.0, duration_s=70)
    cache = st.by_name["auth"]
    from sim.engine.timeline import Cause
    cache.scale(2.5, Cause("operator", "response", "scale_cache", "x2.5"))
    assert [s.concurrency for s in cache.shards] == [5] * SHARDS


def test_bad_cache_backoff_is_one_clear_line():
    data = {"topology": {"load_balancers": [{"name": "lb", "upstream": ["p"]}],
                         "pools": [{"name": "p", "replicas": 1, "server": {"mode": "plain"}}],
                         "databases": [{"name": "db"}],
                         "caches": [{"name": "kv", "database": "db", "shard_concurrency": 0}]},
            "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1}}]}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "caches[0].shard_concurrency" in str(err.value)
