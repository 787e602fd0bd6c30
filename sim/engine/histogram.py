"""Log-bucketed histograms: fixed memory, about 6 % relative error on quantiles.

Values from 100 microseconds to 10,000 seconds fall into 20 bins per decade (each bin spans a
factor of 10**(1/20) = 1.122); smaller values go to bin 0, larger ones to the last bin.

A value's bin is defined by ``log_bin_index`` (the log10 formula) but found on the hot path by a
binary search over ``THRESHOLDS``, the smallest float of each bin under that formula, computed once
at import: the same bin for every float, without a log10 per sample.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

LOW_S = 1e-4
DECADES = 8
BINS_PER_DECADE = 20
N_BINS = DECADES * BINS_PER_DECADE + 2
_LOG_LOW = math.log10(LOW_S)
EDGES = np.concatenate(([0.0], LOW_S * 10 ** (np.arange(DECADES * BINS_PER_DECADE + 1) / BINS_PER_DECADE)))
"""Bin i covers [EDGES[i], EDGES[i+1]); the last bin is open above."""
MIDPOINTS = np.concatenate(([LOW_S / 2], np.sqrt(EDGES[1:-1] * EDGES[2:]), [EDGES[-1]]))


def log_bin_index(value: float) -> int:
    """Bin of one value by definition: 20 bins per decade above LOW_S (what ``bin_index`` reproduces)."""
    if value < LOW_S:
        return 0
    i = int((math.log10(value) - _LOG_LOW) * BINS_PER_DECADE) + 1
    return i if i < N_BINS else N_BINS - 1


def _thresholds() -> list[float]:
    """For bins 1..N_BINS-1, the smallest float that ``log_bin_index`` puts in that bin or above (the formula
    is monotone, so these floats split the line exactly as it does, rounding of log10 included)."""
    out = []
    for k in range(1, N_BINS):
        v = LOW_S * 10 ** ((k - 1) / BINS_PER_DECADE)
        while log_bin_index(v) >= k:
            v = math.nextafter(v, 0.0)
        while log_bin_index(v) < k:
            v = math.nextafter(v, math.inf)
        out.append(v)
    return out


THRESHOLDS = _thresholds()
"""``bisect_right(THRESHOLDS, v)`` is the bin of ``v``: about twice as fast as the log10 formula."""


def bin_index(value: float) -> int:
    """Bin of one value (identical to ``log_bin_index``, by binary search)."""
    return bisect_right(THRESHOLDS, value)


def quantile_from_counts(counts: np.ndarray, q: float) -> float:
    """The q-quantile (0..1) of a histogram's counts along the last axis; NaN where empty."""
    counts = np.asarray(counts)
    total = counts.sum(axis=-1)
    cum = np.cumsum(counts, axis=-1)
    target = np.maximum(np.ceil(q * total), 1)
    idx = np.argmax(cum >= target[..., None], axis=-1)
    out = MIDPOINTS[idx].astype(float)
    return np.where(total > 0, out, np.nan)


class LogHistogram:
    """A streaming histogram with exact count, sum and max, and approximate quantiles."""

    __slots__ = ("counts", "count", "total", "max")

    def __init__(self) -> None:
        self.counts = [0] * N_BINS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        self.counts[bisect_right(THRESHOLDS, value)] += 1
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value

    def add_binned(self, i: int, value: float) -> None:
        """Add ``value`` whose bin ``i`` (``bin_index(value)``) the caller already found for another histogram."""
        self.counts[i] += 1
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def quantile(self, q: float) -> float:
        """Approximate q-quantile (geometric midpoint of its bin, capped at the exact max)."""
        if not self.count:
            return float("nan")
        return float(min(quantile_from_counts(np.asarray(self.counts), q), self.max))
