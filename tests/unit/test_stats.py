"""Tests for sim.analysis.stats: Student t quantiles and confidence intervals."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from sim.analysis.stats import (
    ConfidenceInterval,
    batch_means_ci,
    mean_ci,
    t_cdf,
    t_quantile,
)

# Published two-sided Student t table values (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
T_TABLE = [
    (0.975, 1, 12.706205),
    (0.975, 2, 4.302653),
    (0.975, 3, 3.182446),
    (0.975, 5, 2.570582),
    (0.975, 10, 2.228139),
    (0.975, 30, 2.042272),
    (0.975, 100, 1.983972),
    (0.95, 1, 6.313752),
    (0.95, 4, 2.131847),
    (0.95, 20, 1.724718),
    (0.90, 3, 1.637744),
    (0.995, 5, 4.032143),
    (0.995, 19, 2.860935),
    (0.999, 4, 7.173182),
    (0.9995, 10, 4.586894),
]


@pytest.mark.parametrize(("p", "dof", "expected"), T_TABLE)
def test_t_quantile_matches_table(p: float, dof: int, expected: float) -> None:
    assert t_quantile(p, dof) == pytest.approx(expected, abs=2e-6)


def test_t_quantile_brief_values() -> None:
    assert t_quantile(0.975, 10) == pytest.approx(2.228, abs=1e-3)
    assert t_quantile(0.975, 30) == pytest.approx(2.042, abs=1e-3)
    assert t_quantile(0.975, 2) == pytest.approx(4.303, abs=1e-3)


def test_t_quantile_closed_forms_small_dof() -> None:
    # dof=1 is Cauchy: tan(pi (p - 1/2)); dof=2: (2p-1)/sqrt(2p(1-p)).
    for p in (0.6, 0.9, 0.99, 0.9999):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-12)


def test_t_quantile_converges_to_normal() -> None:
    assert t_quantile(0.975, 1e9) == pytest.approx(1.959963985, abs=1e-8)
    assert t_quantile(0.975, 1e5) == pytest.approx(1.959963985, abs=1e-4)
    assert t_quantile(0.975, 1e5) > t_quantile(0.975, 1e6) > 1.959963985


@pytest.mark.parametrize("dof", [1, 1.5, 2, 3, 7, 29.5, 250, 5e6])
@pytest.mark.parametrize("p", [1e-9, 0.001, 0.05, 0.3, 0.5001, 0.9, 0.975, 0.99999])
def test_t_quantile_inverts_cdf(p: float, dof: float) -> None:
    q = t_quantile(p, dof)
    assert t_cdf(q, dof) == pytest.approx(p, rel=1e-8)


def test_t_quantile_symmetry_and_center() -> None:
    assert t_quantile(0.5, 7) == 0.0
    for dof in (1, 3, 12):
        assert t_quantile(0.025, dof) == pytest.approx(-t_quantile(0.975, dof), rel=1e-12)


def test_t_quantile_monotone_in_p_and_dof() -> None:
    ps = np.linspace(0.01, 0.99, 99)
    qs = [t_quantile(float(p), 4) for p in ps]
    assert all(b > a for a, b in pairwise(qs))
    dofs = [1, 2, 3, 5, 10, 30, 100, 1000]
    q975 = [t_quantile(0.975, d) for d in dofs]
    assert all(b < a for a, b in pairwise(q975))


def test_t_quantile_extreme_tail_is_finite_and_consistent() -> None:
    q = t_quantile(1 - 1e-12, 3)
    # P(T > q) = 1e-12 (up to the representation error of 1 - 1e-12).
    assert 1 - t_cdf(q, 3) == pytest.approx(1e-12, rel=1e-3)
    assert t_quantile(1e-12, 3) == pytest.approx(-q, rel=1e-3)


def test_t_cdf_known_values() -> None:
    assert t_cdf(0.0, 5) == 0.5
    # dof=1 is Cauchy: F(1) = 3/4.
    assert t_cdf(1.0, 1) == pytest.approx(0.75, rel=1e-12)
    # dof=2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
    assert t_cdf(1.5, 2) == pytest.approx(0.5 + 1.5 / (2 * math.sqrt(2 + 1.5**2)), rel=1e-12)
    assert t_cdf(-2.228139, 10) == pytest.approx(0.025, abs=1e-7)


@pytest.mark.parametrize(
    ("p", "dof"),
    [
        (0.0, 5),
        (1.0, 5),
        (-0.1, 5),
        (1.5, 5),
        (float("nan"), 5),
        (0.9, 0),
        (0.9, -1),
        (0.9, float("nan")),
        (0.9, float("inf")),
    ],
)
def test_t_quantile_invalid_raises(p: float, dof: float) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, dof)


# --------------------------------------------------------------------------
# mean_ci
# --------------------------------------------------------------------------


def test_mean_ci_hand_computed() -> None:
    ci = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, s = sqrt(2.5), t_{0.975,4} = 2.776445, half = 2.776445 * sqrt(2.5) / sqrt(5).
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert isinstance(ci, ConfidenceInterval)
    assert ci.n == 5
    assert ci.mean == pytest.approx(3.0)
    assert ci.half_width == pytest.approx(half, rel=1e-6)
    assert ci.low == pytest.approx(3.0 - half, rel=1e-6)
    assert ci.high == pytest.approx(3.0 + half, rel=1e-6)
    assert ci.contains(3.0) and not ci.contains(5.0)


def test_mean_ci_confidence_level_widens_interval() -> None:
    x = [2.0, 4.0, 4.0, 5.0, 7.0, 9.0]
    w90 = mean_ci(x, 0.90).half_width
    w95 = mean_ci(x, 0.95).half_width
    w99 = mean_ci(x, 0.99).half_width
    assert w90 < w95 < w99
    assert w99 / w95 == pytest.approx(t_quantile(0.995, 5) / t_quantile(0.975, 5), rel=1e-12)


def test_mean_ci_constant_samples_zero_width() -> None:
    ci = mean_ci(np.full(8, 4.2))
    assert ci.half_width == 0.0
    assert ci.low == ci.high == pytest.approx(4.2)


def test_mean_ci_coverage_small_samples() -> None:
    # With n = 10 a normal-quantile interval covers only ~92%; Student t gives 95%.
    rng = np.random.default_rng(20240601)
    true_mean = 3.0
    data = rng.normal(true_mean, 2.0, size=(2000, 10))
    covered = sum(mean_ci(row).contains(true_mean) for row in data)
    assert 0.93 <= covered / 2000 <= 0.97


@pytest.mark.parametrize(
    ("samples", "confidence"),
    [
        ([1.0], 0.95),
        ([], 0.95),
        ([1.0, 2.0], 0.0),
        ([1.0, 2.0], 1.0),
        ([1.0, float("nan")], 0.95),
        ([[1.0, 2.0], [3.0, 4.0]], 0.95),
    ],
)
def test_mean_ci_invalid_raises(samples: list, confidence: float) -> None:
    with pytest.raises(ValueError):
        mean_ci(samples, confidence)


# --------------------------------------------------------------------------
# batch_means_ci
# --------------------------------------------------------------------------


def test_batch_means_hand_computed() -> None:
    values = np.repeat([1.0, 2.0, 3.0, 4.0], 5)
    ci = batch_means_ci(values, n_batches=4)
    # Batch means 1..4: mean 2.5, s = sqrt(5/3), t_{0.975,3} = 3.182446.
    half = 3.182446 * math.sqrt(5.0 / 3.0) / 2.0
    assert ci.n == 4
    assert ci.mean == pytest.approx(2.5)
    assert ci.half_width == pytest.approx(half, rel=1e-6)


def test_batch_means_drops_leading_remainder() -> None:
    # 23 values, 4 batches of 5: the first 3 (a transient of 100s) are dropped.
    values = np.concatenate(([100.0, 100.0, 100.0], np.repeat([1.0, 2.0, 3.0, 4.0], 5)))
    ci = batch_means_ci(values, n_batches=4)
    assert ci.mean == pytest.approx(2.5)


def _ar1(rng: np.random.Generator, phi: float, n: int, reps: int) -> np.ndarray:
    """Stationary AR(1) paths with unit innovation variance and mean zero, shape (reps, n)."""
    x = np.empty((reps, n))
    x[:, 0] = rng.normal(0.0, 1.0 / math.sqrt(1 - phi**2), size=reps)
    eps = rng.normal(size=(reps, n))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + eps[:, t]
    return x


def test_batch_means_covers_autocorrelated_mean_where_naive_ci_fails() -> None:
    rng = np.random.default_rng(7)
    paths = _ar1(rng, phi=0.9, n=20_000, reps=300)
    batch_cover = np.mean([batch_means_ci(p, n_batches=20).contains(0.0) for p in paths])
    naive_cover = np.mean([mean_ci(p).contains(0.0) for p in paths])
    # Batches of 1000 >> correlation time (~10), so batch means are ~i.i.d. normal.
    assert 0.90 <= batch_cover <= 0.99
    # Ignoring autocorrelation (variance inflation ~19x) badly under-covers.
    assert naive_cover < 0.6


@pytest.mark.parametrize(
    ("values", "n_batches", "confidence"),
    [
        (np.arange(10.0), 1, 0.95),
        (np.arange(10.0), 11, 0.95),
        (np.arange(10.0), 2.5, 0.95),
        (np.arange(10.0), 5, 1.2),
        (np.array([1.0, np.inf, 2.0, 3.0]), 2, 0.95),
    ],
)
def test_batch_means_invalid_raises(values: np.ndarray, n_batches: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        batch_means_ci(values, n_batches, confidence)
