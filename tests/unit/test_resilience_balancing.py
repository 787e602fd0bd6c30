"""Balancing policies: one contract every registered policy passes, then each policy's own behaviour."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from sim.resilience.policies.balancing import BALANCERS
from sim.resilience.policies.panic import panic_active
from sim.resilience.redundancy import shuffle_shard_expectations
from sim.spec.policies import BalancingSpec


def servers(n: int, zones: tuple[str, ...] = ("zone-a", "zone-b")) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=f"p-{i}", zone=zones[i % len(zones)], outstanding=i % 3) for i in range(n)]


def attempt(user: int, client: str = "c") -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(user=user, client=client))


def make(name: str, seed: int = 1, **spec):
    kind = {"kind": name} if name in BalancingSpec.model_fields["kind"].annotation.__args__ else {}
    return BALANCERS.create(name, np.random.default_rng(seed), 2, BalancingSpec(**kind, **spec), "zone-a")


@pytest.mark.parametrize("name", BALANCERS.names())
def test_balancer_contract(name):
    """Picks one of the candidates; a single candidate is always usable; same seed, same picks."""
    pool = servers(6)
    picks = []
    for _ in range(2):
        balancer = make(name)
        picks.append([balancer.pick(pool, attempt(u)).name for u in range(200)])
    assert picks[0] == picks[1]
    assert set(picks[0]) <= {s.name for s in pool}
    only = pool[:1]
    only[0].zone = "zone-a"
    assert make(name).pick(only, attempt(3)) is only[0]
    shrunk = pool[:3]
    assert all(make(name).pick(shrunk, attempt(u)) in shrunk for u in range(50)), "follows rotation changes"


def test_every_balancing_kind_in_the_spec_is_registered():
    assert set(BalancingSpec.model_fields["kind"].annotation.__args__) == set(BALANCERS.names())


def test_zone_aware_prefers_the_local_zone_and_fails_over():
    pool = servers(6)
    balancer = make("zone_aware")
    assert {balancer.pick(pool, attempt(u)).zone for u in range(100)} == {"zone-a"}
    remote = [s for s in pool if s.zone == "zone-b"]
    assert balancer.pick(remote, attempt(1)).zone == "zone-b" and balancer.failovers == 1
    assert make("zone_aware", failover=False).pick(remote, attempt(1)) is None


def test_zone_aware_spills_in_proportion_to_the_local_zone_lost_capacity():
    """Envoy: stay local with probability min(1, local healthy share / local expected share); the rest spills
    to the other zones. 3 + 3 replicas, one local out: 2 / (5 x 1/2) = 80 % local, 20 % to zone-b."""
    pool = servers(6)
    for s in pool:
        s.outstanding = 0
    balancer = make("zone_aware")
    balancer.see_upstream(pool)
    assert {balancer.pick(pool, attempt(u)).zone for u in range(200)} == {"zone-a"}, "all healthy: all local"
    rotation = [s for s in pool if s.name != "p-0"]
    n = 10_000
    remote = sum(balancer.pick(rotation, attempt(u)).zone == "zone-b" for u in range(n)) / n
    assert remote == pytest.approx(0.2, abs=0.015)
    strict = make("zone_aware", failover=False)
    strict.see_upstream(pool)
    assert {strict.pick(rotation, attempt(u)).zone for u in range(200)} == {"zone-a"}, "no failover: never leaves"


def test_sticky_keeps_users_on_one_replica_and_moves_only_the_lost_replicas_users():
    pool = servers(5)
    balancer = make("sticky")
    before = {u: balancer.pick(pool, attempt(u)).name for u in range(300)}
    assert before == {u: balancer.pick(pool, attempt(u)).name for u in range(300)}
    survivors = [s for s in pool if s.name != "p-2"]
    after = {u: balancer.pick(survivors, attempt(u)).name for u in range(300)}
    moved = [u for u in before if before[u] != after[u]]
    assert moved and all(before[u] == "p-2" for u in moved)


def test_sticky_with_stickiness_opens_new_sessions_at_the_rate_one_minus_stickiness():
    """A user's requests stay on one replica for a session of about 1 / (1 - stickiness) requests; retries
    of a request (same id) never move; stickiness 1 is pinned for good."""
    pool = servers(10)
    for stickiness, sessions in ((1.0, 1), (0.9, 10), (0.5, 50)):
        balancer = make("sticky", stickiness=stickiness)
        picks = []
        for req_id in range(100):
            att = SimpleNamespace(request=SimpleNamespace(user=7, client="c", id=req_id))
            first = balancer.pick(pool, att).name
            assert balancer.pick(pool, att).name == first  # a retry stays in the request's session
            picks.append(first)
        moves = sum(a != b for a, b in itertools.pairwise(picks))
        # a new session lands on another of the 10 replicas 9 times in 10
        assert moves <= sessions and moves >= 0.5 * 0.9 * (sessions - 1)


def test_shuffle_shard_serves_a_customer_only_from_its_shard():
    pool = servers(8)
    balancer = make("shuffle_shard", shard_size=2)
    for u in range(50):
        used = {balancer.pick(pool, attempt(u)).name for _ in range(5)}
        shard = {f"p-{i}" for i in balancer.shard_of(_key(u), 8)}
        assert len(shard) == 2 and used <= shard
    shard = balancer.shard_of(_key(0), 8)
    assert balancer.pick([s for s in pool if int(s.name[2:]) not in shard], attempt(0)) is None


def _key(user: int) -> int:
    from sim.resilience.policies.balancing import customer_key as key

    return key(attempt(user))


def test_shuffle_shard_spreads_customers_as_the_combinatorics_say():
    balancer = make("shuffle_shard", shard_size=2)
    shards = [balancer.shard_of(_key(u), 8) for u in range(5600)]
    same = np.mean([s == shards[0] for s in shards[1:]])
    assert same == pytest.approx(shuffle_shard_expectations(8, 2)["full_overlap"], abs=0.01)
    overlap = np.mean([bool(s & shards[0]) for s in shards[1:]])
    assert overlap == pytest.approx(shuffle_shard_expectations(8, 2)["any_overlap"], abs=0.03)


def test_panic_threshold():
    assert panic_active(4, 10, 50.0) and not panic_active(5, 10, 50.0) and not panic_active(0, 0, 50.0)


def balancers_in(*zones: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(zone=z, available=True) for z in zones]


def spill_share(balancer, rotation, n: int = 20_000) -> dict[str, float]:
    zones = [balancer.pick(rotation, attempt(u)).zone for u in range(n)]
    return {z: zones.count(z) / n for z in sorted(set(zones))}


def test_zone_aware_one_balancer_spreads_over_the_upstream_zones():
    """Envoy: local_pct (the origins' share in zone-a) 1.0 > upstream_pct 0.5, so half stays local and the
    residual goes to zone-b; every replica gets the same share (the bug kept everything in zone-a)."""
    pool = servers(6)
    for s in pool:
        s.outstanding = 0
    balancer = make("zone_aware")
    balancer.see_upstream(pool)
    balancer.see_origin(balancers_in("zone-a"))
    share = spill_share(balancer, pool)
    assert share["zone-a"] == pytest.approx(0.5, abs=0.015) and share["zone-b"] == pytest.approx(0.5, abs=0.015)


def test_zone_aware_spills_the_residual_by_each_zone_residual_capacity():
    """Origins 2/3 in zone-a, 1/3 in zone-b; replicas 1/4 a, 1/4 b, 1/2 c: stay local 0.25 / (2/3) = 0.375;
    residual b = 1/4 - 1/3 < 0 gets nothing, c = 1/2 gets all of the spill."""
    pool = [SimpleNamespace(name=f"p-{i}", zone=z, outstanding=0)
            for i, z in enumerate(["zone-a", "zone-b", "zone-c", "zone-c"])]
    balancer = make("zone_aware")
    balancer.see_upstream(pool)
    balancer.see_origin(balancers_in("zone-a", "zone-a", "zone-b"))
    share = spill_share(balancer, pool)
    assert "zone-b" not in share
    assert share["zone-a"] == pytest.approx(0.375, abs=0.015)
    # two zones with residual capacity share the spill in proportion to it
    pool = [SimpleNamespace(name=f"p-{i}", zone=z, outstanding=0)
            for i, z in enumerate(["zone-a"] + ["zone-b"] * 3 + ["zone-c"] * 6)]
    balancer = make("zone_aware")
    balancer.see_origin(balancers_in("zone-a"))
    share = spill_share(balancer, pool)
    assert share["zone-a"] == pytest.approx(0.1, abs=0.01)
    assert share["zone-b"] == pytest.approx(0.3, abs=0.015) and share["zone-c"] == pytest.approx(0.6, abs=0.015)


def test_zone_aware_origins_that_are_down_leave_the_spread():
    """Three origins, one per zone, keep all traffic local; with the zone-b origin down (its zone's clients
    are gone) the zone-a origin's local share is 1/2 > 1/3 of the replicas, so it spills."""
    pool = [SimpleNamespace(name=f"p-{i}", zone=z, outstanding=0)
            for i, z in enumerate(["zone-a", "zone-b", "zone-c"] * 2)]
    origins = balancers_in("zone-a", "zone-b", "zone-c")
    balancer = make("zone_aware")
    balancer.see_origin(origins)
    assert spill_share(balancer, pool, 2000) == {"zone-a": 1.0}
    origins[1].available = False  # origins now 1/2 in zone-a, 1/2 in zone-c
    share = spill_share(balancer, pool)
    assert share["zone-a"] == pytest.approx(2 / 3, abs=0.015)
    assert share["zone-b"] == pytest.approx(1 / 3, abs=0.015), "residual b = 1/3 - 0; c = 1/3 - 1/2 < 0"
