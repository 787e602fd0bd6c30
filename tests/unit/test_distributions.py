"""Distributions: sample moments match the analytic mean and variance; Sampler hands out blocks in order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.engine.distributions import (
    BLOCK,
    Deterministic,
    Exponential,
    Gamma,
    Lognormal,
    Sampler,
    Uniform,
    UniformSampler,
    from_spec,
)
from sim.spec.common import DeterministicSpec, ExponentialSpec, GammaSpec, LognormalSpec, UniformSpec

N = 200_000

DISTS = [
    ("exponential", Exponential(0.7), ExponentialSpec(kind="exponential", mean=0.7)),
    ("lognormal", Lognormal(2.0, 0.8), LognormalSpec(kind="lognormal", mean=2.0, cv=0.8)),
    ("gamma-bursty", Gamma(1.0, 2.0), GammaSpec(kind="gamma", mean=1.0, cv=2.0)),
    ("gamma-regular", Gamma(5.0, 0.3), GammaSpec(kind="gamma", mean=5.0, cv=0.3)),
    ("uniform", Uniform(10, 1200), UniformSpec(kind="uniform", low=10, high=1200)),
]


def _excess_kurtosis_bound(x: np.ndarray) -> float:
    """Sample fourth central moment, to get the standard error of the sample variance."""
    return float(np.mean((x - x.mean()) ** 4))


@pytest.mark.parametrize(("name", "dist", "spec"), DISTS, ids=[d[0] for d in DISTS])
def test_moments(name, dist, spec):
    x = dist.sample_many(np.random.default_rng(7), N)
    se_mean = math.sqrt(dist.variance / N)
    assert abs(x.mean() - dist.mean) < 5 * se_mean, f"{name}: mean {x.mean()} vs {dist.mean}"
    # Var(s^2) ~ (mu4 - sigma^4) / n
    se_var = math.sqrt((_excess_kurtosis_bound(x) - x.var() ** 2) / N)
    print(f"\n{name}: mean {x.mean():.5g} (analytic {dist.mean:.5g}), var {x.var():.5g} (analytic {dist.variance:.5g})")
    assert abs(x.var(ddof=1) - dist.variance) < 5 * se_var, f"{name}: variance {x.var()} vs {dist.variance}"
    assert x.min() >= 0
    # the spec builds the same distribution
    built = from_spec(spec)
    assert type(built) is type(dist)
    assert built.mean == pytest.approx(dist.mean) and built.variance == pytest.approx(dist.variance)


@pytest.mark.parametrize(("name", "dist", "spec"), DISTS, ids=[d[0] for d in DISTS])
def test_single_draws_follow_the_same_law(name, dist, spec):
    rng = np.random.default_rng(3)
    x = np.array([dist.sample(rng) for _ in range(20_000)])
    assert abs(x.mean() - dist.mean) < 5 * math.sqrt(dist.variance / len(x))


def test_deterministic():
    d = from_spec(DeterministicSpec(kind="deterministic", value=0.25))
    assert isinstance(d, Deterministic)
    assert d.mean == 0.25 and d.variance == 0.0
    assert d.sample(np.random.default_rng(1)) == 0.25
    assert np.all(d.sample_many(np.random.default_rng(1), 10) == 0.25)


def test_uniform_bounds():
    x = Uniform(3.0, 4.0).sample_many(np.random.default_rng(1), 10_000)
    assert x.min() >= 3.0 and x.max() <= 4.0


def test_from_spec_rejects_unknown():
    with pytest.raises(TypeError):
        from_spec("exponential")  # type: ignore[arg-type]


def test_sampler_blocks_equal_one_numpy_stream():
    """Block-drawn values are exactly numpy's stream, in order, across block boundaries."""
    dist = Lognormal(1.0, 0.5)
    sampler = Sampler(dist, np.random.default_rng(11))
    got = [sampler() for _ in range(3 * BLOCK + 5)]
    rng = np.random.default_rng(11)
    want = np.concatenate([dist.sample_many(rng, BLOCK) for _ in range(4)])[: len(got)]
    assert got == want.tolist()
    assert all(isinstance(v, float) for v in got[:10])


def test_sampler_draws_lazily():
    rng = np.random.default_rng(5)
    sampler = Sampler(Exponential(1.0), rng)
    state = rng.bit_generator.state
    assert rng.bit_generator.state == state  # nothing drawn before the first call
    sampler()
    after_first = rng.bit_generator.state
    for _ in range(BLOCK - 1):
        sampler()
    assert rng.bit_generator.state == after_first  # one block serves BLOCK calls
    sampler()
    assert rng.bit_generator.state != after_first


def test_uniform_sampler():
    u = UniformSampler(np.random.default_rng(2))
    x = np.array([u() for _ in range(2 * BLOCK + 3)])
    assert x.min() >= 0.0 and x.max() < 1.0
    assert x.tolist() == np.random.default_rng(2).random(3 * BLOCK)[: len(x)].tolist()
