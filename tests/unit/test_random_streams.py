"""Random streams: stable per (component, purpose), independent of other components and of process."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from sim.engine.random import RandomStreams, stable_key

STABLE_KEY_LB_1 = 12019829349986239876


def test_same_key_same_stream():
    s = RandomStreams(42)
    a = s.get("gpu-0", "service").random(100)
    b = s.get("gpu-0", "service").random(100)
    assert np.array_equal(a, b)
    assert np.array_equal(RandomStreams(42).get("gpu-0", "service").random(100), a)


def test_different_keys_and_seeds_differ():
    s = RandomStreams(42)
    base = s.get("gpu-0", "service").random(50)
    for other in (s.get("gpu-1", "service"), s.get("gpu-0", "faults"), RandomStreams(43).get("gpu-0", "service")):
        assert not np.array_equal(other.random(50), base)


def test_key_parts_do_not_collide_by_concatenation():
    s = RandomStreams(1)
    assert not np.array_equal(s.get("ab", "c").random(10), s.get("a", "bc").random(10))


def test_stable_key_is_not_pythons_salted_hash():
    """The key of a name is a fixed function of its bytes (blake2b), the same in every process and version:
    changing it would reshuffle every stream of every saved scenario."""
    assert stable_key("lb-1") == int.from_bytes(hashlib.blake2b(b"lb-1", digest_size=8).digest(), "little")
    assert stable_key("lb-1") == STABLE_KEY_LB_1
    assert 0 <= stable_key("x") < 2**64


def test_first_draws_are_stable_across_versions():
    """The derivation (SeedSequence of seed and two keys, PCG64) is part of the reproducibility contract."""
    seq = np.random.SeedSequence([42, stable_key("gpu-0"), stable_key("service")])
    expected = np.random.Generator(np.random.PCG64(seq)).random(5)
    assert np.array_equal(RandomStreams(42).get("gpu-0", "service").random(5), expected)


def test_adding_a_component_does_not_change_another_stream():
    """Draw order and the set of other components do not matter: streams are derived, not shared."""
    s1 = RandomStreams(7)
    alone = s1.get("client", "arrivals").random(20)
    s2 = RandomStreams(7)
    for name in ("gpu-0", "gpu-1", "new-pool-0"):
        s2.get(name, "service").random(1000)
    assert np.array_equal(s2.get("client", "arrivals").random(20), alone)


def test_adding_a_replica_keeps_the_arrivals_of_a_run():
    """Common random numbers through the whole stack: one more replica, same arrival times."""
    from sim import parse_scenario, run

    def scenario(replicas: int):
        return parse_scenario({
            "topology": {
                "load_balancers": [{"name": "lb", "upstream": ["p"], "health_check": {"enabled": False}}],
                "pools": [{"name": "p", "replicas": replicas, "server": {"mode": "plain"}}],
            },
            "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None,
                                      "arrival": {"kind": "poisson", "rate_rps": 0.5}}]},
            "run": {"duration_s": 200},
        })

    a = run(scenario(2), seed=5, record_requests=True).requests
    b = run(scenario(3), seed=5, record_requests=True).requests
    assert len(a["arrival_s"]) > 50
    assert sorted(a["arrival_s"].tolist())[:50] == sorted(b["arrival_s"].tolist())[:50]
    assert not np.array_equal(np.sort(a["end_s"])[:50], np.sort(b["end_s"])[:50])


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_run_rejects_a_bad_seed(seed):
    from sim import parse_scenario, run

    sc = parse_scenario({
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["p"]}],
                     "pools": [{"name": "p", "replicas": 1, "server": {"mode": "plain"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "arrival": {"kind": "poisson", "rate_rps": 1}}]},
        "run": {"duration_s": 5},
    })
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        run(sc, seed=seed)
    assert run(sc, seed=np.int64(3)).summary["seed"] == 3
