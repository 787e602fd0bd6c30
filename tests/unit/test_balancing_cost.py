"""Sticky and shuffle-shard picks cost O(log n) and keep nothing per customer (counted, not timed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.resilience.policies.balancing import BALANCERS
from sim.spec.policies import BalancingSpec

REPLICAS = 2048


class Replica:
    """A replica double whose attribute reads are counted."""

    reads = 0

    def __init__(self, i: int):
        self._name = f"p-{i}"
        self._outstanding = i % 3

    @property
    def name(self) -> str:
        Replica.reads += 1
        return self._name

    @property
    def outstanding(self) -> int:
        Replica.reads += 1
        return self._outstanding


def customer(user: int) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(client="c", user=user))


def sizes(balancer) -> int:
    """Total length of every container the policy holds (what per-customer memory would grow)."""
    total = 0
    for value in vars(balancer).values():
        if isinstance(value, (dict, list, set)):
            total += len(value)
        elif hasattr(value, "__slots__"):
            total += sum(len(getattr(value, s)) for s in value.__slots__
                         if isinstance(getattr(value, s, None), (dict, list, set)))
    return total


@pytest.mark.parametrize("kind", ["sticky", "shuffle_shard"])
def test_a_pick_reads_a_bounded_number_of_replicas_and_keeps_nothing_per_customer(kind):
    pool = [Replica(i) for i in range(REPLICAS)]
    balancer = BALANCERS.create(kind, np.random.default_rng(1), 2, BalancingSpec(kind=kind, shard_size=2), None)
    balancer.pick(pool, customer(0))  # the first pick numbers the replicas (once per candidate list)
    held = sizes(balancer)
    Replica.reads = 0
    picks = 5000
    chosen = [balancer.pick(pool, customer(u)) for u in range(1, picks + 1)]
    assert Replica.reads <= 2 * picks, "no scan of the 2048 candidates per pick"
    assert sizes(balancer) == held, "nothing kept per customer"
    assert len({id(s) for s in chosen}) > REPLICAS // 2, "customers spread over the fleet"


def test_sticky_spreads_users_evenly_over_the_candidates():
    pool = [SimpleNamespace(name=f"p-{i}", outstanding=0) for i in range(8)]
    balancer = BALANCERS.create("sticky", np.random.default_rng(1), 2, BalancingSpec(kind="sticky"), None)
    users = 16_000
    counts = np.bincount([int(balancer.pick(pool, customer(u)).name[2:]) for u in range(users)], minlength=8)
    # multinomial: each count within 4 standard deviations of users / 8
    sd = np.sqrt(users * (1 / 8) * (7 / 8))
    assert np.all(np.abs(counts - users / 8) < 4 * sd)
