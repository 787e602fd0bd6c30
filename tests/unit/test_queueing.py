"""Tests for sim.analysis.queueing against independently known closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.queueing import (
    erlang_b,
    erlang_c,
    k_of_n_availability,
    little_l,
    mg1_mean_wait_s,
    mm1_mean_response_s,
    mm1_mean_wait_s,
    mmc_mean_response_s,
    mmc_mean_wait_s,
    mmck_blocking_probability,
    mmck_mean_response_s,
)

# --------------------------------------------------------------------------
# Independent reference implementations (direct textbook sums, small inputs)
# --------------------------------------------------------------------------


def _erlang_b_direct(c: int, a: float) -> float:
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def _erlang_c_log_direct(c: int, a: float) -> float:
    """Erlang C from its defining sum, evaluated in log space (valid for large c)."""
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    log_last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    m = max(max(log_terms), log_last)
    s = sum(math.exp(t - m) for t in log_terms)
    last = math.exp(log_last - m)
    return last / (s + last)


# --------------------------------------------------------------------------
# M/M/1
# --------------------------------------------------------------------------


def test_mm1_rho_half_textbook_values() -> None:
    # rho = 0.5, mu = 1: Wq = rho/(mu - lambda) = 1, W = 1/(mu - lambda) = 2.
    assert mm1_mean_wait_s(0.5, 1.0) == pytest.approx(1.0, rel=1e-12)
    assert mm1_mean_response_s(0.5, 1.0) == pytest.approx(2.0, rel=1e-12)


def test_mm1_scales_with_time_unit() -> None:
    # rho = 0.8 with mu = 10/s: Wq = 0.8 / 2 = 0.4 s, W = 0.5 s.
    assert mm1_mean_wait_s(8.0, 10.0) == pytest.approx(0.4, rel=1e-12)
    assert mm1_mean_response_s(8.0, 10.0) == pytest.approx(0.5, rel=1e-12)


def test_mm1_no_arrivals_means_no_wait() -> None:
    assert mm1_mean_wait_s(0.0, 2.0) == 0.0
    assert mm1_mean_response_s(0.0, 2.0) == pytest.approx(0.5)


@pytest.mark.parametrize(("lam", "mu"), [(1.0, 1.0), (2.0, 1.0), (-0.1, 1.0), (0.5, 0.0), (0.5, -1.0)])
def test_mm1_invalid_or_unstable_raises(lam: float, mu: float) -> None:
    with pytest.raises(ValueError):
        mm1_mean_wait_s(lam, mu)
    with pytest.raises(ValueError):
        mm1_mean_response_s(lam, mu)


def test_mm1_unstable_message_mentions_rho() -> None:
    with pytest.raises(ValueError, match="rho"):
        mm1_mean_wait_s(1.0, 1.0)


# --------------------------------------------------------------------------
# Erlang B / C and M/M/c
# --------------------------------------------------------------------------


def test_erlang_b_single_server_unit_load_is_half() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5, rel=1e-12)


def test_erlang_b_two_servers_unit_load() -> None:
    # (1/2) / (1 + 1 + 1/2) = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(3, 2.5), (10, 5.0), (15, 20.0), (20, 1.0)])
def test_erlang_b_matches_direct_sum(c: int, a: float) -> None:
    assert erlang_b(c, a) == pytest.approx(_erlang_b_direct(c, a), rel=1e-12)


def test_erlang_b_published_table_value() -> None:
    # Standard Erlang B table: 10 trunks, 5 Erlangs -> 1.84% blocking.
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-6)


def test_erlang_b_large_c_is_stable() -> None:
    b = erlang_b(500, 480.0)
    assert 0.0 < b < 1.0
    assert math.isfinite(b)
    # Overload: blocking must approach 1 - c/a for a >> c.
    assert erlang_b(500, 5000.0) == pytest.approx(1 - 500 / 5000, abs=1e-3)


def test_erlang_c_two_servers_unit_load_is_one_third() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)


@pytest.mark.parametrize("a", [0.1, 0.5, 0.9, 0.999])
def test_erlang_c_single_server_equals_rho(a: float) -> None:
    assert erlang_c(1, a) == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(5, 4.0), (50, 45.0), (200, 150.0), (500, 480.0)])
def test_erlang_c_matches_log_space_direct_sum(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(_erlang_c_log_direct(c, a), rel=1e-9)


def test_erlang_c_exceeds_erlang_b() -> None:
    # A waiting system delays more often than the loss system blocks.
    for c, a in [(2, 1.0), (10, 8.0), (100, 95.0)]:
        assert erlang_c(c, a) > erlang_b(c, a)


def test_mmc_with_one_server_equals_mm1() -> None:
    assert mmc_mean_wait_s(0.7, 1.3, 1) == pytest.approx(mm1_mean_wait_s(0.7, 1.3), rel=1e-12)
    assert mmc_mean_response_s(0.7, 1.3, 1) == pytest.approx(mm1_mean_response_s(0.7, 1.3), rel=1e-12)


def test_mm2_known_closed_form() -> None:
    # M/M/2 with rho = lambda/(2 mu): Lq = 2 rho^3 / (1 - rho^2), Wq = Lq / lambda.
    lam, mu = 1.5, 1.0
    rho = lam / (2 * mu)
    wq = 2 * rho**3 / (1 - rho**2) / lam
    assert mmc_mean_wait_s(lam, mu, 2) == pytest.approx(wq, rel=1e-12)
    assert mmc_mean_response_s(lam, mu, 2) == pytest.approx(wq + 1 / mu, rel=1e-12)


def test_mmc_pooling_beats_separate_queues() -> None:
    # Two pooled servers wait less than two independent M/M/1 queues at the same rho.
    assert mmc_mean_wait_s(1.6, 1.0, 2) < mm1_mean_wait_s(0.8, 1.0)


@pytest.mark.parametrize(("c", "a"), [(2, 2.0), (2, 3.0), (0, 0.5), (-1, 0.5), (2, -0.1), (2, float("nan"))])
def test_erlang_c_invalid_raises(c: int, a: float) -> None:
    with pytest.raises(ValueError):
        erlang_c(c, a)


@pytest.mark.parametrize("c", [0, -3, 2.5, True, "3"])
def test_erlang_b_invalid_servers_raises(c: object) -> None:
    with pytest.raises(ValueError, match="servers"):
        erlang_b(c, 1.0)  # type: ignore[arg-type]


def test_erlang_b_does_not_require_stability() -> None:
    # Loss systems have a steady state at any load.
    assert erlang_b(2, 10.0) == pytest.approx(_erlang_b_direct(2, 10.0), rel=1e-12)


@pytest.mark.parametrize(("lam", "mu", "c"), [(2.0, 1.0, 2), (3.0, 1.0, 2), (1.0, 0.0, 2)])
def test_mmc_unstable_or_invalid_raises(lam: float, mu: float, c: int) -> None:
    with pytest.raises(ValueError):
        mmc_mean_wait_s(lam, mu, c)
    with pytest.raises(ValueError):
        mmc_mean_response_s(lam, mu, c)


def test_numpy_integer_servers_accepted() -> None:
    assert erlang_c(np.int64(2), 1.0) == pytest.approx(1.0 / 3.0)


# --------------------------------------------------------------------------
# M/M/c/K
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "mu", "c"), [(1.0, 1.0, 1), (3.0, 2.0, 4), (12.0, 1.0, 10)])
def test_mmck_with_k_equal_c_is_erlang_b(lam: float, mu: float, c: int) -> None:
    assert mmck_blocking_probability(lam, mu, c, c) == pytest.approx(erlang_b(c, lam / mu), rel=1e-12)


def test_mmck_with_k_equal_c_has_no_queueing_delay() -> None:
    assert mmck_mean_response_s(3.0, 2.0, 4, 4) == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize(("rho", "k"), [(0.5, 3), (0.8, 5), (1.5, 4)])
def test_mm1k_closed_form(rho: float, k: int) -> None:
    # M/M/1/K: p_K = (1 - rho) rho^K / (1 - rho^(K+1)),
    # L = rho/(1-rho) - (K+1) rho^(K+1) / (1 - rho^(K+1)), W = L / (lambda (1 - p_K)).
    lam, mu = rho * 2.0, 2.0
    p_k = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    big_l = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
    assert mmck_blocking_probability(lam, mu, 1, k) == pytest.approx(p_k, rel=1e-12)
    assert mmck_mean_response_s(lam, mu, 1, k) == pytest.approx(big_l / (lam * (1 - p_k)), rel=1e-12)


def test_mm1k_at_rho_one_is_uniform() -> None:
    assert mmck_blocking_probability(1.0, 1.0, 1, 9) == pytest.approx(0.1, rel=1e-12)


def test_mmck_large_capacity_approaches_mmc() -> None:
    lam, mu, c = 3.0, 1.0, 4
    assert mmck_blocking_probability(lam, mu, c, 400) < 1e-40
    assert mmck_mean_response_s(lam, mu, c, 400) == pytest.approx(mmc_mean_response_s(lam, mu, c), rel=1e-10)


def test_mmck_overloaded_is_finite_and_near_one_minus_capacity_ratio() -> None:
    # Heavily overloaded: the system is almost always full, throughput ~ c mu.
    lam, mu, c, k = 1000.0, 1.0, 10, 10_000
    p_k = mmck_blocking_probability(lam, mu, c, k)
    assert p_k == pytest.approx(1 - c * mu / lam, rel=1e-9)
    # Almost always K in system, served at c mu: W ~ K / (c mu).
    assert mmck_mean_response_s(lam, mu, c, k) == pytest.approx(k / (c * mu), rel=1e-3)


def test_mmck_littles_law_consistency_with_blocking() -> None:
    # Throughput lambda (1 - p_K) must equal mean busy servers * mu.
    lam, mu, c, k = 5.0, 1.5, 3, 7
    a = lam / mu
    weights = [a**n / math.factorial(min(n, c)) / c ** max(n - c, 0) for n in range(k + 1)]
    total = sum(weights)
    p = [w / total for w in weights]
    busy = sum(min(n, c) * p[n] for n in range(k + 1))
    p_k = mmck_blocking_probability(lam, mu, c, k)
    assert lam * (1 - p_k) == pytest.approx(busy * mu, rel=1e-12)
    mean_n = sum(n * p[n] for n in range(k + 1))
    assert mmck_mean_response_s(lam, mu, c, k) == pytest.approx(mean_n / (lam * (1 - p_k)), rel=1e-12)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "k"),
    [(1.0, 1.0, 3, 2), (1.0, 1.0, 0, 2), (-1.0, 1.0, 1, 2), (1.0, 0.0, 1, 2), (1.0, 1.0, 1, 1.5)],
)
def test_mmck_invalid_raises(lam: float, mu: float, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        mmck_blocking_probability(lam, mu, c, k)
    with pytest.raises(ValueError):
        mmck_mean_response_s(lam, mu, c, k)


def test_mmck_capacity_below_servers_message() -> None:
    with pytest.raises(ValueError, match="capacity"):
        mmck_blocking_probability(1.0, 1.0, 3, 2)


# --------------------------------------------------------------------------
# M/G/1
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("lam", "mu"), [(0.5, 1.0), (8.0, 10.0), (0.01, 0.5)])
def test_pk_with_scv_one_equals_mm1(lam: float, mu: float) -> None:
    assert mg1_mean_wait_s(lam, 1.0 / mu, 1.0) == pytest.approx(mm1_mean_wait_s(lam, mu), rel=1e-12)


def test_pk_deterministic_service_is_half_of_mm1() -> None:
    # M/D/1 waits exactly half as long as M/M/1 at equal rho.
    assert mg1_mean_wait_s(0.9, 1.0, 0.0) == pytest.approx(0.5 * mm1_mean_wait_s(0.9, 1.0))


def test_pk_known_value_high_variability() -> None:
    # rho = 0.5, E[S] = 2, scv = 4: Wq = 0.5 * 2 * 5 / (2 * 0.5) = 5.
    assert mg1_mean_wait_s(0.25, 2.0, 4.0) == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize(
    ("lam", "es", "scv"), [(1.0, 1.0, 1.0), (0.6, 2.0, 0.0), (0.5, 1.0, -0.1), (0.5, 0.0, 1.0)]
)
def test_pk_invalid_raises(lam: float, es: float, scv: float) -> None:
    with pytest.raises(ValueError):
        mg1_mean_wait_s(lam, es, scv)


# --------------------------------------------------------------------------
# k-of-n availability
# --------------------------------------------------------------------------


def test_k_of_n_with_k_equal_n_is_product() -> None:
    a = 1000.0 / (1000.0 + 5.0)
    assert k_of_n_availability(4, 4, 1000.0, 5.0) == pytest.approx(float(np.prod([a] * 4)), rel=1e-12)
    assert k_of_n_availability(2000, 2000, 1.0, 1e-3) == pytest.approx((1.0 / 1.001) ** 2000, rel=1e-9)


def test_k_of_n_one_of_n_is_parallel() -> None:
    a = 0.9
    assert k_of_n_availability(1, 3, 9.0, 1.0) == pytest.approx(1 - (1 - a) ** 3, rel=1e-12)


def test_two_of_three_majority() -> None:
    a = 0.99
    assert k_of_n_availability(2, 3, 99.0, 1.0) == pytest.approx(3 * a**2 - 2 * a**3, rel=1e-12)


@pytest.mark.parametrize(("k", "n", "mtbf"), [(7, 12, 4.0), (7, 12, 0.3 / 0.7), (1, 5, 0.01), (30, 40, 3.0)])
def test_k_of_n_matches_binomial_sum(k: int, n: int, mtbf: float) -> None:
    # mttr = 1, so each component is up with probability a = mtbf / (mtbf + 1).
    a = mtbf / (mtbf + 1.0)
    expected = sum(math.comb(n, i) * a**i * (1 - a) ** (n - i) for i in range(k, n + 1))
    assert k_of_n_availability(k, n, mtbf, 1.0) == pytest.approx(expected, rel=1e-12)


def test_k_of_n_edge_cases() -> None:
    assert k_of_n_availability(0, 5, 1.0, 1.0) == 1.0
    assert k_of_n_availability(5, 5, 1.0, 0.0) == 1.0
    # Near-certain availability keeps precision instead of rounding to 1.
    assert 1 - k_of_n_availability(1, 3, 999.0, 1.0) == pytest.approx(1e-9, rel=1e-6)


@pytest.mark.parametrize(
    ("k", "n", "mtbf", "mttr"),
    [(4, 3, 1.0, 1.0), (-1, 3, 1.0, 1.0), (1, 0, 1.0, 1.0), (1, 3, 0.0, 1.0), (1, 3, 1.0, -1.0)],
)
def test_k_of_n_invalid_raises(k: int, n: int, mtbf: float, mttr: float) -> None:
    with pytest.raises(ValueError):
        k_of_n_availability(k, n, mtbf, mttr)


# --------------------------------------------------------------------------
# Little's law
# --------------------------------------------------------------------------


def test_little_l() -> None:
    assert little_l(2.0, 3.0) == pytest.approx(6.0)
    # Consistency with M/M/1: L = rho / (1 - rho) = 1 at rho = 0.5.
    assert little_l(0.5, mm1_mean_response_s(0.5, 1.0)) == pytest.approx(1.0)


@pytest.mark.parametrize(("lam", "w"), [(-1.0, 1.0), (1.0, -1.0), (float("inf"), 1.0)])
def test_little_l_invalid_raises(lam: float, w: float) -> None:
    with pytest.raises(ValueError):
        little_l(lam, w)
