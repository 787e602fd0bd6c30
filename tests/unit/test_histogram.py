"""Log-bucketed histogram: quantiles within one bin of numpy's on lognormal data; bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.histogram import BINS_PER_DECADE, EDGES, N_BINS, LogHistogram, bin_index, quantile_from_counts

BIN_RATIO = 10 ** (1 / BINS_PER_DECADE)


@pytest.mark.parametrize(("median_s", "sigma"), [(0.05, 1.0), (2.0, 0.5), (30.0, 1.5)])
def test_quantiles_within_bin_error(median_s, sigma):
    x = np.random.default_rng(4).lognormal(np.log(median_s), sigma, 100_000)
    h = LogHistogram()
    for v in x.tolist():
        h.add(v)
    assert h.count == len(x)
    assert h.mean == pytest.approx(x.mean(), rel=1e-9)
    assert h.max == x.max()
    for q in (0.01, 0.5, 0.9, 0.99, 0.999):
        exact = float(np.quantile(x, q))
        got = h.quantile(q)
        # the reported value is the geometric midpoint of the right bin: within half a bin's ratio
        assert exact / BIN_RATIO**0.5 * 0.999 <= got <= exact * BIN_RATIO**0.5 * 1.001, (q, got, exact)
    assert h.quantile(1.0) <= h.max  # capped at the exact maximum


def test_bin_edges():
    for v in (1e-4, 1e-3, 0.0123, 1.0, 99.0, 9_999.0):
        i = bin_index(v)
        assert EDGES[i] <= v * (1 + 1e-12) and (i == N_BINS - 1 or v < EDGES[i + 1] * (1 + 1e-12))
    assert bin_index(0.0) == 0 and bin_index(1e-9) == 0
    assert bin_index(1e9) == N_BINS - 1


def test_empty_and_constant():
    h = LogHistogram()
    assert np.isnan(h.quantile(0.5)) and np.isnan(h.mean)
    for _ in range(10):
        h.add(0.2)
    assert h.quantile(0.5) == pytest.approx(0.2, rel=BIN_RATIO - 1)
    assert h.quantile(0.99) <= 0.2


def test_quantile_from_counts_vectorised():
    counts = np.zeros((3, N_BINS), dtype=np.int64)
    counts[0, bin_index(0.5)] = 10
    counts[2, bin_index(3.0)] = 1
    counts[2, bin_index(30.0)] = 99
    q = quantile_from_counts(counts, 0.5)
    assert q[0] == pytest.approx(0.5, rel=0.07)
    assert np.isnan(q[1])
    assert q[2] == pytest.approx(30.0, rel=0.07)


def test_memory_is_fixed():
    h = LogHistogram()
    for v in np.random.default_rng(1).exponential(1.0, 50_000).tolist():
        h.add(v)
    assert len(h.counts) == N_BINS


def test_binary_search_bins_match_the_log10_formula():
    """The hot path bins by binary search over precomputed thresholds; every float must land where the log10
    formula puts it: across the whole range, and on and a few ulps around every threshold."""
    import math

    from sim.engine.histogram import THRESHOLDS, log_bin_index

    rng = np.random.default_rng(7)
    values = (10 ** rng.uniform(-7, 6, 200_000)).tolist() + [0.0, -1.0, 1e-4, 1e4, 1e300]
    for t in THRESHOLDS:
        lo = hi = t
        for _ in range(4):
            values += [lo, hi]
            lo, hi = math.nextafter(lo, 0.0), math.nextafter(hi, math.inf)
    mismatches = [v for v in values if bin_index(v) != log_bin_index(v)]
    assert not mismatches, mismatches[:5]
    assert len(THRESHOLDS) == N_BINS - 1 and THRESHOLDS == sorted(THRESHOLDS)
