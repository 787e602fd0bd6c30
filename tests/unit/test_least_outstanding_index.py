"""least_outstanding picks through an index: the same picks as a scan of the rotation, in O(log n) work.

The reference below is the scan the policy used to do (a rotated copy of the candidates and ``min``):
the first least-loaded replica at or after a round-robin cursor. Random traces of arrivals, completions
and rotation changes must give the identical pick sequence; at 2048 replicas a pick reads no replica's
count and makes O(log n) comparisons.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim.resilience.policies.balancing as balancing
from sim.resilience.policies.balancing import BALANCERS


class Replica:
    """What the index needs of a replica: an outstanding count that tells its watchers when it changes
    (as ServerBase does), and a counter of how often the count is read."""

    reads = 0

    def __init__(self, name: str):
        self.name = name
        self._outstanding = 0
        self.load_watchers: list = []

    @property
    def outstanding(self) -> int:
        Replica.reads += 1
        return self._outstanding

    def change(self, delta: int) -> None:
        self._outstanding += delta
        for watcher in self.load_watchers:
            watcher(self)


class ScanReference:
    """The old policy, verbatim."""

    def __init__(self) -> None:
        self._i = 0

    def pick(self, candidates, attempt):
        self._i += 1
        i = self._i % len(candidates)
        return min(candidates[i:] + candidates[:i], key=lambda s: s._outstanding)


@pytest.mark.parametrize("seed", range(6))
def test_same_picks_as_the_scan_on_random_traces(seed):
    rng = np.random.default_rng(seed)
    replicas = [Replica(f"r{i}") for i in range(int(rng.integers(1, 40)))]
    policy = BALANCERS.create("least_outstanding", rng, 2)
    reference = ScanReference()
    rotation = list(replicas)
    busy: list[Replica] = []
    for _ in range(5_000):
        u = rng.random()
        if u < 0.45:
            chosen = policy.pick(rotation, None)
            assert chosen is reference.pick(rotation, None)
            chosen.change(+1)
            busy.append(chosen)
        elif u < 0.9 and busy:
            busy.pop(int(rng.integers(len(busy)))).change(-1)
        elif u < 0.95:
            # a rotation change (ejection or restoration): the load balancer builds a new list
            keep = [r for r in replicas if rng.random() < 0.8] or [replicas[0]]
            rotation = keep
        elif busy:
            # a crash: a replica loses all its work at once
            victim = busy[int(rng.integers(len(busy)))]
            for _ in range(busy.count(victim)):
                busy.remove(victim)
                victim.change(-1)


def test_a_pick_at_2048_replicas_is_logarithmic(monkeypatch):
    """Per request (a pick, the chosen replica's count going up, another's going down) the index makes
    O(log n) comparisons and reads a count only where it changed; the scan read all 2048."""
    n = 2048
    replicas = [Replica(f"r{i}") for i in range(n)]
    policy = BALANCERS.create("least_outstanding", np.random.default_rng(1), 2)
    rng = np.random.default_rng(2)
    policy.pick(replicas, None)  # builds the index: one read per replica, once
    comparisons = [0]

    def key(v):
        comparisons[0] += 1
        return v

    real_bisect, real_insort = balancing.bisect_left, balancing.insort
    monkeypatch.setattr(balancing, "bisect_left", lambda a, x: real_bisect(a, x, key=key))
    monkeypatch.setattr(balancing, "insort", lambda a, x: real_insort(a, x, key=key))
    Replica.reads = 0
    busy: list[Replica] = []
    requests = 4_000
    for _ in range(requests):
        chosen = policy.pick(replicas, None)
        chosen.change(+1)
        busy.append(chosen)
        if len(busy) > 3 * n:  # keep about three requests per replica in flight
            busy.pop(int(rng.integers(len(busy)))).change(-1)
    per_request = comparisons[0] / requests
    assert per_request <= 6 * (math.log2(n) + 1), per_request
    assert Replica.reads <= 3 * requests  # one read per count change, none per pick
