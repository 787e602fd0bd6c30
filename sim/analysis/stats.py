"""Confidence intervals for simulator output (standard library and numpy only).

``t_quantile`` inverts the Student t distribution function, which is computed
from the regularized incomplete beta function (continued fraction, Lentz's
method), so it is accurate to roughly 1e-10 rather than being a table or a
truncated series.  Closed forms are used for 1 and 2 degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ConfidenceInterval",
    "batch_means_ci",
    "mean_ci",
    "t_cdf",
    "t_quantile",
]

# Above this many degrees of freedom the three-term Cornish-Fisher expansion of
# the t quantile is accurate to far better than 1e-10 and is used directly.
_CORNISH_FISHER_DOF = 1e7


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


# --------------------------------------------------------------------------
# Special functions
# --------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (Numerical Recipes 6.4, modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def _lgamma_half_ratio(a: float) -> float:
    """Return lgamma(a + 1/2) - lgamma(a) without cancellation for large a."""
    if a < 50.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)
    # Asymptotic (Stirling) series; the truncation error is < 1e-15 for a >= 50.
    return (
        0.5 * math.log(a)
        - 1.0 / (8.0 * a)
        + 1.0 / (192.0 * a**3)
        - 1.0 / (640.0 * a**5)
        + 17.0 / (14336.0 * a**7)
    )


_LGAMMA_HALF = 0.5 * math.log(math.pi)  # lgamma(1/2)


def _t_logs(t: float, dof: float) -> tuple[float, float, float]:
    """Return (log1p(t^2/dof), x, 1 - x) with x = dof / (dof + t^2), overflow-safe."""
    s = abs(t) / math.sqrt(dof)
    if s > 1e150:
        log1p_s2 = 2.0 * math.log(s)
        return log1p_s2, math.exp(-log1p_s2), 1.0
    s2 = s * s
    return math.log1p(s2), 1.0 / (1.0 + s2), s2 / (1.0 + s2)


def _t_log_upper_tail(t: float, dof: float) -> float:
    """log P(T > t) for t >= 0, from P(T > t) = 0.5 * I_x(dof/2, 1/2) with x = dof / (dof + t^2)."""
    if t == 0.0:
        return math.log(0.5)
    a, b = 0.5 * dof, 0.5
    log1p_s2, x, one_minus_x = _t_logs(t, dof)
    log_beta = _LGAMMA_HALF - _lgamma_half_ratio(a)  # log B(a, 1/2)
    log_1mx = math.log(one_minus_x) if one_minus_x < 1.0 else 0.0
    log_front = -a * log1p_s2 + b * log_1mx - log_beta
    if x < (a + 1.0) / (a + b + 2.0):
        return math.log(0.5) + log_front + math.log(_betacf(a, b, x) / a)
    return math.log(0.5) + math.log1p(-math.exp(log_front) * _betacf(b, a, one_minus_x) / b)


def _t_upper_tail(t: float, dof: float) -> float:
    """P(T > t) for t >= 0."""
    return math.exp(_t_log_upper_tail(t, dof))


def _t_log_pdf(t: float, dof: float) -> float:
    log_norm = _lgamma_half_ratio(0.5 * dof) - 0.5 * math.log(dof * math.pi)
    log1p_s2, _, _ = _t_logs(t, dof)
    return log_norm - 0.5 * (dof + 1.0) * log1p_s2


def _normal_quantile(p: float) -> float:
    """Standard normal quantile (Acklam's rational approximation refined by one Halley step on erfc)."""
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p_low = 0.02425
    if p < p_low:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    elif p <= 1.0 - p_low:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
    else:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


def _check_dof(dof: float) -> float:
    try:
        v = float(dof)
    except (TypeError, ValueError):
        raise ValueError(f"dof must be a real number, got {dof!r}") from None
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"dof must be finite and > 0, got {dof!r}")
    return v


# --------------------------------------------------------------------------
# Student t
# --------------------------------------------------------------------------


def t_cdf(t: float, dof: float) -> float:
    """Student t distribution function via the regularized incomplete beta function (Abramowitz & Stegun
    26.7.1).
    """
    v = _check_dof(dof)
    x = float(t)
    if math.isnan(x):
        raise ValueError("t must not be NaN")
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    tail = _t_upper_tail(abs(x), v)
    return 1.0 - tail if x >= 0 else tail


def _t_upper_quantile(tail: float, v: float) -> float:
    """Return t >= 0 with P(T > t) = tail, for 0 < tail < 0.5."""
    if v == 1.0:
        return 1.0 / math.tan(math.pi * tail)
    if v == 2.0:
        return (1.0 - 2.0 * tail) / math.sqrt(2.0 * tail * (1.0 - tail))
    z = -_normal_quantile(tail)
    # Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5): the starting point,
    # and the answer itself once dof exceeds _CORNISH_FISHER_DOF.
    z2 = z * z
    t = z + z * (z2 + 1.0) / (4.0 * v) + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * v * v)
    if v > _CORNISH_FISHER_DOF:
        return t
    t = max(t, z, 1e-300)

    # Newton's method on u = log t for log P(T > t) = log(tail), which is nearly
    # linear in the tails, safeguarded by a bracket [lo, hi] on t.
    log_tail = math.log(tail)
    lo, hi = 0.0, math.inf  # P(T > lo) > tail > P(T > hi)
    for _ in range(300):
        log_q = _t_log_upper_tail(t, v)
        h = log_q - log_tail
        if h > 0.0:
            lo = t
        elif h < 0.0:
            hi = t
        else:
            return t
        # d(log Q)/d(log t) = -t pdf(t) / Q(t)
        slope = math.exp(_t_log_pdf(t, v) + math.log(t) - log_q)
        step = h / slope
        new = t * math.exp(step) if step < 700.0 else math.inf
        if not (math.isfinite(new) and lo < new < hi):
            if math.isinf(hi):
                new = 16.0 * lo + 1.0
                if not math.isfinite(new):
                    return math.inf
            else:
                new = 0.5 * (lo + hi)
        if abs(new - t) <= 1e-15 * new:
            return new
        t = new
    return t


def t_quantile(p: float, dof: float) -> float:
    """Student t quantile by safeguarded Newton inversion of the incomplete-beta CDF (Abramowitz & Stegun
    26.7.1; closed forms for dof 1 and 2).
    """
    v = _check_dof(dof)
    try:
        prob = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"p must be a real number, got {p!r}") from None
    if not (0.0 < prob < 1.0):
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    if prob == 0.5:
        return 0.0
    if prob < 0.5:
        return -_t_upper_quantile(prob, v)
    return _t_upper_quantile(1.0 - prob, v)  # 1 - prob is exact for prob >= 0.5


# --------------------------------------------------------------------------
# Confidence intervals
# --------------------------------------------------------------------------


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
