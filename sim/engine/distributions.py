"""Distributions as small objects: ``sample(rng)`` draws one value, ``mean`` is the analytic mean.

Each has a moment test. Samplers draw in blocks from numpy and hand values out one by one, because
a per-call numpy draw costs about a microsecond, which matters on the per-request path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from itertools import chain
from typing import Protocol

import numpy as np

from sim.spec.common import DeterministicSpec, ExponentialSpec, GammaSpec, LognormalSpec, UniformSpec

BLOCK = 1024


class Distribution(Protocol):
    """What every distribution offers."""

    mean: float
    variance: float

    def sample(self, rng: np.random.Generator) -> float: ...

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray: ...


class Exponential:
    """Exponential with the given mean."""

    def __init__(self, mean: float):
        _positive_finite(mean=mean)
        self.mean = float(mean)
        self.variance = self.mean * self.mean

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean))


class Deterministic:
    """A constant."""

    def __init__(self, value: float):
        self.mean = float(value)
        self.variance = 0.0

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.mean)

    def sample(self, rng: np.random.Generator) -> float:
        return self.mean


def _positive_finite(**params: float) -> None:
    """Parameters the spec bounds already; checked again so direct use fails with a clear ValueError."""
    for name, value in params.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, not {value!r}")


def _variance(mean: float, cv: float) -> float:
    """(cv * mean)^2 without OverflowError (float ** raises it; a product saturates to inf)."""
    sd = cv * mean
    return sd * sd


class Lognormal:
    """Lognormal with the given mean and coefficient of variation."""

    def __init__(self, mean: float, cv: float):
        _positive_finite(mean=mean, cv=cv)
        self.mean = float(mean)
        self.variance = _variance(self.mean, cv)
        self._sigma = math.sqrt(math.log1p(cv * cv))
        self._mu = math.log(mean) - self._sigma * self._sigma / 2

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self._mu, self._sigma, n)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.lognormal(self._mu, self._sigma))


class Gamma:
    """Gamma with the given mean and coefficient of variation (shape 1/cv^2)."""

    def __init__(self, mean: float, cv: float):
        _positive_finite(mean=mean, cv=cv)
        if cv < 1e-150:  # 1 / cv^2 would overflow; the spec keeps cv >= 0.001
            raise ValueError(f"cv {cv!r} is too small for a gamma distribution (use a deterministic one)")
        self.mean = float(mean)
        self.variance = _variance(self.mean, cv)
        self._shape = 1.0 / (cv * cv)
        self._scale = self.mean / self._shape

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self._shape, self._scale, n)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.gamma(self._shape, self._scale))


class Uniform:
    """Uniform on [low, high]."""

    def __init__(self, low: float, high: float):
        self.low, self.high = float(low), float(high)
        self.mean = (self.low + self.high) / 2
        self.variance = (self.high - self.low) ** 2 / 12

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


def from_spec(spec: ExponentialSpec | DeterministicSpec | LognormalSpec | GammaSpec | UniformSpec) -> Distribution:
    """The distribution object a scenario's distribution spec describes."""
    if isinstance(spec, ExponentialSpec):
        return Exponential(spec.mean)
    if isinstance(spec, DeterministicSpec):
        return Deterministic(spec.value)
    if isinstance(spec, LognormalSpec):
        return Lognormal(spec.mean, spec.cv)
    if isinstance(spec, GammaSpec):
        return Gamma(spec.mean, spec.cv)
    if isinstance(spec, UniformSpec):
        return Uniform(spec.low, spec.high)
    raise TypeError(f"unknown distribution spec {spec!r}")


def _blocks(dist: Distribution, rng: np.random.Generator) -> Iterator[list[float]]:
    """An endless supply of blocks of draws, each drawn when the previous one is used up."""
    while True:
        yield dist.sample_many(rng, BLOCK).tolist()


def _uniform_blocks(rng: np.random.Generator) -> Iterator[list[float]]:
    while True:
        yield rng.random(BLOCK).tolist()


class Sampler(partial):
    """Draws from a distribution with its own Generator, a block at a time (fast per-call path).

    ``sampler()`` returns the next value (a float). It is ``next`` over the chained blocks, bound by
    ``functools.partial``: the draw runs in C, with no Python frame per value (samplers are called several
    times per request). The stream is the same as drawing ``BLOCK`` values whenever the last block is used up.
    """

    def __new__(cls, dist: Distribution, rng: np.random.Generator) -> Sampler:
        self = super().__new__(cls, next, chain.from_iterable(_blocks(dist, rng)))
        self.dist = dist
        self.rng = rng
        return self

    def __repr__(self) -> str:
        return f"Sampler({type(self.dist).__name__}, mean {self.dist.mean:g})"


class UniformSampler(partial):
    """Uniform floats in [0, 1) a block at a time, for coin flips and picks on hot paths (called as ``Sampler``)."""

    def __new__(cls, rng: np.random.Generator) -> UniformSampler:
        self = super().__new__(cls, next, chain.from_iterable(_uniform_blocks(rng)))
        self.rng = rng
        return self

    def __repr__(self) -> str:
        return "UniformSampler()"
