"""Confidence intervals and tests for simulator output, backed by scipy.stats.

Replications of a run are i.i.d. (each seed draws fresh random streams), so a metric's mean across
replications gets a Student t interval (``mean_ci``); one long autocorrelated run gets a batch-means
interval (``batch_means_ci``). Designs compared on common random numbers are compared by the paired
differences of their replications (``paired_ci``), and many comparisons at once are corrected with
Holm's step-down procedure (``holm``), which controls the family-wise error rate without assuming
independence between the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

__all__ = [
    "ConfidenceInterval",
    "PairedComparison",
    "batch_means_ci",
    "holm",
    "mean_ci",
    "one_sided_bound",
    "paired_ci",
    "t_cdf",
    "t_quantile",
]


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval for a mean: low = mean - half_width, high = mean + half_width."""

    mean: float
    low: float
    high: float
    half_width: float
    n: int

    def contains(self, value: float) -> bool:
        """Return True if value lies in the closed interval [low, high]."""
        return self.low <= value <= self.high


@dataclass(frozen=True)
class PairedComparison:
    """The mean of paired differences (b - a) with its t interval and the paired t test's two-sided p-value.

    ``p_value`` is 1.0 when every difference is the same (no spread: the test is undefined, and a
    design that changes nothing on any seed is not evidence of a difference).
    """

    diff: ConfidenceInterval
    p_value: float


def _check_dof(dof: float) -> float:
    try:
        v = float(dof)
    except (TypeError, ValueError):
        raise ValueError(f"dof must be a real number, got {dof!r}") from None
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"dof must be finite and > 0, got {dof!r}")
    return v


def t_cdf(t: float, dof: float) -> float:
    """Student t distribution function (scipy.stats.t)."""
    v = _check_dof(dof)
    x = float(t)
    if math.isnan(x):
        raise ValueError("t must not be NaN")
    return float(_st.t.cdf(x, v))


def t_quantile(p: float, dof: float) -> float:
    """Student t quantile (scipy.stats.t.ppf), for 0 < p < 1."""
    v = _check_dof(dof)
    try:
        prob = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"p must be a real number, got {p!r}") from None
    if not (0.0 < prob < 1.0):
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    if prob == 0.5:
        return 0.0
    return float(_st.t.ppf(prob, v))


def _as_1d_finite(name: str, values: Iterable[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr


def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not (0.0 < c < 1.0):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return c


def mean_ci(samples: Iterable[float], confidence: float = 0.95) -> ConfidenceInterval:
    """Student t interval mean +/- t_{(1+c)/2, n-1} s / sqrt(n) for i.i.d. samples (Law, Simulation Modeling
    and Analysis).
    """
    conf = _check_confidence(confidence)
    x = _as_1d_finite("samples", samples)
    n = int(x.size)
    if n < 2:
        raise ValueError(f"mean_ci needs at least 2 samples, got {n}")
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    half = t_quantile(0.5 * (1.0 + conf), n - 1) * sd / math.sqrt(n)
    return ConfidenceInterval(mean=mean, low=mean - half, high=mean + half, half_width=half, n=n)


def one_sided_bound(samples: Iterable[float], confidence: float, side: str) -> float:
    """A one-sided t confidence bound for the mean: ``side='lower'`` gives L with P(mean >= L) = confidence."""
    conf = _check_confidence(confidence)
    x = _as_1d_finite("samples", samples)
    if x.size < 2:
        raise ValueError(f"one_sided_bound needs at least 2 samples, got {x.size}")
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    margin = t_quantile(conf, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return float(x.mean()) - margin if side == "lower" else float(x.mean()) + margin


def paired_ci(a: Iterable[float], b: Iterable[float], confidence: float = 0.95) -> PairedComparison:
    """Paired comparison of ``b`` against ``a`` (same seeds, same order): CI of mean(b - a), paired t test."""
    x = _as_1d_finite("a", a)
    y = _as_1d_finite("b", b)
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length, got {x.size} and {y.size}")
    d = y - x
    ci = mean_ci(d, confidence)
    if ci.half_width == 0.0:
        return PairedComparison(ci, 1.0 if ci.mean == 0.0 else 0.0)
    return PairedComparison(ci, float(_st.ttest_rel(y, x).pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, family-wise error rate): reject test i at level a if adjusted <= a."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("p_values must be a list of probabilities")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(v) for v in adjusted]


def batch_means_ci(
    values: Iterable[float], n_batches: int = 20, confidence: float = 0.95
) -> ConfidenceInterval:
    """Non-overlapping batch means t interval for one autocorrelated run
    (Law, Simulation Modeling and Analysis).

    The series is split into ``n_batches`` contiguous batches of equal size
    ``len(values) // n_batches``; the ``len(values) % n_batches`` leftover
    observations are dropped from the *start* of the series (the part most
    affected by initial transients).  The returned interval's ``n`` is the
    number of batches, and ``mean`` is the mean of the observations used.
    """
    conf = _check_confidence(confidence)
    if isinstance(n_batches, bool) or not isinstance(n_batches, (int, np.integer)):
        raise ValueError(f"n_batches must be an integer, got {n_batches!r}")
    k = int(n_batches)
    if k < 2:
        raise ValueError(f"n_batches must be >= 2, got {k}")
    x = _as_1d_finite("values", values)
    if x.size < k:
        raise ValueError(f"need at least n_batches={k} values, got {x.size}")
    size = x.size // k
    used = x[x.size - size * k :]
    batch_means = used.reshape(k, size).mean(axis=1)
    return mean_ci(batch_means, confidence=conf)
