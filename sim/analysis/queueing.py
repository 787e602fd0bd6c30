"""Analytic queueing-theory references used to validate the simulator.

All functions are pure and depend only on the standard library and numpy.
Rates are per second, times are in seconds.  Every function raises
``ValueError`` for invalid input (non-finite or out-of-range values) and for
parameters under which the requested steady state does not exist.
"""

from __future__ import annotations

import math
import operator

import numpy as np

__all__ = [
    "erlang_b",
    "erlang_c",
    "k_of_n_availability",
    "little_l",
    "mg1_mean_wait_s",
    "mm1_mean_response_s",
    "mm1_mean_wait_s",
    "mmc_mean_response_s",
    "mmc_mean_wait_s",
    "mmck_blocking_probability",
    "mmck_mean_response_s",
]


# --------------------------------------------------------------------------
# Input validation helpers
# --------------------------------------------------------------------------


def _finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _positive(name: str, value: float) -> float:
    x = _finite(name, value)
    if x <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def _non_negative(name: str, value: float) -> float:
    x = _finite(name, value)
    if x < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n


def _require_stable(rho: float, what: str) -> None:
    if rho >= 1.0:
        raise ValueError(f"{what} has no steady state: utilisation rho={rho:.6g} must be < 1")


# --------------------------------------------------------------------------
# M/M/1
# --------------------------------------------------------------------------


def mm1_mean_wait_s(arrival_rate_rps: float, service_rate_rps: float) -> float:
    """Mean time in queue Wq = rho / (mu - lambda) of M/M/1 (Kleinrock, Queueing Systems Vol. 1)."""
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    mu = _positive("service_rate_rps", service_rate_rps)
    rho = lam / mu
    _require_stable(rho, "M/M/1")
    return rho / (mu - lam)


def mm1_mean_response_s(arrival_rate_rps: float, service_rate_rps: float) -> float:
    """Mean sojourn time W = 1 / (mu - lambda) of M/M/1 (Kleinrock, Queueing Systems Vol. 1)."""
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    mu = _positive("service_rate_rps", service_rate_rps)
    _require_stable(lam / mu, "M/M/1")
    return 1.0 / (mu - lam)


# --------------------------------------------------------------------------
# Erlang B / Erlang C / M/M/c
# --------------------------------------------------------------------------


def erlang_b(servers: int, offered_load_erlangs: float) -> float:
    """Blocking probability of M/M/c/c via the recursion B(k) = a B(k-1) / (k + a B(k-1)) (Gross & Harris,
    Fundamentals of Queueing Theory).
    """
    c = _count("servers", servers, 1)
    a = _non_negative("offered_load_erlangs", offered_load_erlangs)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, offered_load_erlangs: float) -> float:
    """Probability of waiting in M/M/c, C = c B / (c - a (1 - B)) from Erlang B (Gross & Harris, Fundamentals
    of Queueing Theory).
    """
    c = _count("servers", servers, 1)
    a = _non_negative("offered_load_erlangs", offered_load_erlangs)
    _require_stable(a / c, f"M/M/{c}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait_s(arrival_rate_rps: float, service_rate_rps: float, servers: int) -> float:
    """Mean time in queue Wq = C(c, a) / (c mu - lambda) of M/M/c (Gross & Harris, Fundamentals of Queueing
    Theory).
    """
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    mu = _positive("service_rate_rps", service_rate_rps)
    c = _count("servers", servers, 1)
    _require_stable(lam / (c * mu), f"M/M/{c}")
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_mean_response_s(arrival_rate_rps: float, service_rate_rps: float, servers: int) -> float:
    """Mean sojourn time W = Wq + 1/mu of M/M/c (Gross & Harris, Fundamentals of Queueing Theory)."""
    mu = _positive("service_rate_rps", service_rate_rps)
    return mmc_mean_wait_s(arrival_rate_rps, mu, servers) + 1.0 / mu


# --------------------------------------------------------------------------
# M/M/c/K (K = total capacity, in service plus waiting)
# --------------------------------------------------------------------------


def _mmck_distribution(
    arrival_rate_rps: float, service_rate_rps: float, servers: int, capacity: int
) -> tuple[float, np.ndarray]:
    """Return (lambda, stationary distribution p_0..p_K) of M/M/c/K, computed in log space."""
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    mu = _positive("service_rate_rps", service_rate_rps)
    c = _count("servers", servers, 1)
    k = _count("capacity", capacity, 1)
    if k < c:
        raise ValueError(f"capacity (total in system) must be >= servers, got capacity={k}, servers={c}")
    if lam == 0.0:
        p = np.zeros(k + 1)
        p[0] = 1.0
        return lam, p
    a = lam / mu
    n = np.arange(1, k + 1)
    # p_n / p_{n-1} = a / min(n, c): birth-death balance equations.
    log_terms = np.concatenate(([0.0], np.cumsum(math.log(a) - np.log(np.minimum(n, c)))))
    log_terms -= log_terms.max()
    p = np.exp(log_terms)
    p /= p.sum()
    return lam, p


def mmck_blocking_probability(
    arrival_rate_rps: float, service_rate_rps: float, servers: int, capacity: int
) -> float:
    """Probability p_K that an arrival finds M/M/c/K full, from the birth-death stationary distribution
    (Gross & Harris, Fundamentals of Queueing Theory).
    """
    _, p = _mmck_distribution(arrival_rate_rps, service_rate_rps, servers, capacity)
    return float(p[-1])


def mmck_mean_response_s(
    arrival_rate_rps: float, service_rate_rps: float, servers: int, capacity: int
) -> float:
    """Mean sojourn of admitted customers W = L / (lambda (1 - p_K)) by Little's law for M/M/c/K (Gross &
    Harris, Fundamentals of Queueing Theory).
    """
    lam, p = _mmck_distribution(arrival_rate_rps, service_rate_rps, servers, capacity)
    if lam == 0.0:
        # No arrivals: an (infinitesimal) admitted customer is served immediately.
        return 1.0 / float(service_rate_rps)
    mean_in_system = float(np.dot(np.arange(p.size), p))
    admitted_rate = lam * (1.0 - float(p[-1]))
    return mean_in_system / admitted_rate


# --------------------------------------------------------------------------
# M/G/1
# --------------------------------------------------------------------------


def mg1_mean_wait_s(arrival_rate_rps: float, mean_service_s: float, service_scv: float) -> float:
    """Mean time in queue Wq = rho E[S] (1 + scv) / (2 (1 - rho)) of M/G/1 (Pollaczek-Khinchine formula,
    Kleinrock Vol. 1).
    """
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    es = _positive("mean_service_s", mean_service_s)
    scv = _non_negative("service_scv", service_scv)
    rho = lam * es
    _require_stable(rho, "M/G/1")
    return rho * es * (1.0 + scv) / (2.0 * (1.0 - rho))


# --------------------------------------------------------------------------
# Availability and Little's law
# --------------------------------------------------------------------------


def k_of_n_availability(k: int, n: int, mtbf_s: float, mttr_s: float) -> float:
    """Probability that at least k of n independent components are up, sum_{i>=k} C(n,i) A^i (1-A)^(n-i) with
    A = MTBF/(MTBF+MTTR) (Trivedi, Probability and Statistics with Reliability, Queuing, and Computer
    Science Applications).
    """
    n_ = _count("n", n, 1)
    k_ = _count("k", k, 0)
    if k_ > n_:
        raise ValueError(f"k must be <= n, got k={k_}, n={n_}")
    mtbf = _positive("mtbf_s", mtbf_s)
    mttr = _non_negative("mttr_s", mttr_s)
    if k_ == 0 or mttr == 0.0:
        return 1.0
    # Unnormalised log binomial weights C(n,i) (A/(1-A))^i built by the ratio
    # recursion, then normalised; summing the smaller tail keeps precision when
    # the availability is very close to 0 or 1.
    i = np.arange(n_)
    log_ratio = math.log(mtbf) - math.log(mttr)
    log_w = np.concatenate(([0.0], np.cumsum(np.log(n_ - i) - np.log(i + 1) + log_ratio)))
    w = np.exp(log_w - log_w.max())
    total = float(w.sum())
    up = float(w[k_:].sum())
    down = float(w[:k_].sum())
    if up <= down:
        return up / total
    return 1.0 - down / total


def little_l(arrival_rate_rps: float, mean_time_s: float) -> float:
    """Mean number in system L = lambda W (Little's law, Little 1961)."""
    lam = _non_negative("arrival_rate_rps", arrival_rate_rps)
    w = _non_negative("mean_time_s", mean_time_s)
    return lam * w
