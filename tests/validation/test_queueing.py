"""The plain service-time mode against queueing theory (run ``pytest -s`` to see the figures compared).

Each test simulates one replica behind a load balancer with no network latency, no health checks,
no timeouts and no retries, so the replica is exactly an M/M/c (M/D/1, M/M/c/K) queue. Confidence
intervals come from the run itself (batch means over the customers in arrival order, after a
warm-up). Each check prints the 99 % interval; the assertion uses the 99.9 % one, because with about
twenty checks at 1 % each, any change in how random numbers are consumed would otherwise fail one
of them by chance one time in five. (M/D/1 vs M/M/1 shows the intervals still tell models apart.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario, parse_scenario, run
from sim.analysis.queueing import (
    erlang_b,
    erlang_c,
    mg1_mean_wait_s,
    mm1_mean_response_s,
    mm1_mean_wait_s,
    mmc_mean_wait_s,
    mmck_blocking_probability,
)
from sim.analysis.stats import ConfidenceInterval, batch_means_ci
from tests.helpers import run_live

CONFIDENCE = 0.999
SHOWN = 0.99
N_BATCHES = 30


def queue_scenario(rate_rps: float, service: dict, servers: int, customers: int, queue_capacity: int = 1_000_000):
    duration_s = customers / rate_rps
    return parse_scenario({
        "name": "queue",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["q"], "health_check": {"enabled": False}}],
            "pools": [{"name": "q", "replicas": 1, "server": {
                "mode": "plain", "service_time_s": service, "concurrency": servers, "queue_capacity": queue_capacity,
            }}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "poisson", "rate_rps": rate_rps}}]},
        "run": {"duration_s": duration_s, "bucket_s": duration_s / 100},
    })


def in_arrival_order(requests: dict[str, np.ndarray], warmup_fraction: float = 0.02) -> dict[str, np.ndarray]:
    """Per-request columns sorted by arrival, without the first customers (the empty-system transient)."""
    order = np.argsort(requests["arrival_s"], kind="stable")
    skip = int(len(order) * warmup_fraction)
    return {k: v[order][skip:] for k, v in requests.items()}


def checked(label: str, values: np.ndarray, analytic: float) -> ConfidenceInterval:
    """Print the run's 99 % interval next to the analytic value; return the asserted (99.9 %) interval."""
    shown = batch_means_ci(values, N_BATCHES, SHOWN)
    ci = batch_means_ci(values, N_BATCHES, CONFIDENCE)
    inside = "inside" if shown.contains(analytic) else ("inside 99.9 %" if ci.contains(analytic) else "OUTSIDE")
    print(f"\n{label}: simulated {shown.mean:.5f} (99% CI {shown.low:.5f} .. {shown.high:.5f}, "
          f"{shown.n} batches), analytic {analytic:.5f} -> {inside}")
    return ci


@pytest.mark.parametrize(
    ("servers", "rho"),
    [(1, 0.5), (1, 0.8), (2, 0.5), (2, 0.8), (4, 0.7)],
)
def test_mmc_mean_wait_and_erlang_c(servers, rho):
    mu = 1.0
    lam = rho * servers * mu
    res = run(queue_scenario(lam, {"kind": "exponential", "mean": 1 / mu}, servers, 40_000), seed=11,
              record_requests=True)
    rq = in_arrival_order(res.requests)
    assert set(rq["outcome"].tolist()) == {"success"}
    wait = rq["wait_s"]
    analytic = mmc_mean_wait_s(lam, mu, servers)
    if servers == 1:
        assert analytic == pytest.approx(mm1_mean_wait_s(lam, mu))
    assert checked(f"M/M/{servers} rho={rho} mean wait Wq", wait, analytic).contains(analytic)
    analytic_c = erlang_c(servers, lam / mu)
    p_wait = checked(f"M/M/{servers} rho={rho} P(wait > 0) (Erlang C)", (wait > 0).astype(float), analytic_c)
    assert p_wait.contains(analytic_c)
    # utilisation: busy slots / c
    util = res.summary["components"]["q-0"]["utilisation"]
    print(f"M/M/{servers} rho={rho} utilisation {util:.4f} vs {rho}")
    assert util == pytest.approx(rho, abs=0.02)


def test_md1_pollaczek_khinchine():
    lam, service_s = 0.75, 1.0
    res = run(queue_scenario(lam, {"kind": "deterministic", "value": service_s}, 1, 40_000), seed=5,
              record_requests=True)
    rq = in_arrival_order(res.requests)
    analytic = mg1_mean_wait_s(lam, service_s, 0.0)
    ci = checked("M/D/1 rho=0.75 mean wait (P-K)", rq["wait_s"], analytic)
    assert ci.contains(analytic)
    # and it is clearly not the M/M/1 value (half of it): the check can tell service distributions apart
    assert not ci.contains(mm1_mean_wait_s(lam, 1 / service_s))


def test_mg1_lognormal_pollaczek_khinchine():
    lam, mean_s, cv = 0.6, 1.0, 1.5
    res = run(queue_scenario(lam, {"kind": "lognormal", "mean": mean_s, "cv": cv}, 1, 40_000), seed=8,
              record_requests=True)
    rq = in_arrival_order(res.requests)
    analytic = mg1_mean_wait_s(lam, mean_s, cv * cv)
    assert checked("M/G/1 lognormal cv=1.5 rho=0.6 mean wait (P-K)", rq["wait_s"], analytic).contains(analytic)


@pytest.mark.parametrize(("servers", "capacity", "rho"), [(1, 3, 0.9), (2, 5, 0.8), (3, 4, 1.2)])
def test_mmck_blocking(servers, capacity, rho):
    mu = 1.0
    lam = rho * servers * mu
    res = run(queue_scenario(lam, {"kind": "exponential", "mean": 1 / mu}, servers, 40_000,
                             queue_capacity=capacity - servers), seed=3, record_requests=True)
    rq = in_arrival_order(res.requests)
    assert set(rq["outcome"].tolist()) <= {"success", "rejected"}
    analytic = mmck_blocking_probability(lam, mu, servers, capacity)
    blocked = checked(f"M/M/{servers}/{capacity} rho={rho} blocking probability",
                      (rq["outcome"] == "rejected").astype(float), analytic)
    assert blocked.contains(analytic)


@pytest.mark.parametrize(
    ("servers", "offered_erlangs", "service"),
    [
        (1, 0.8, {"kind": "exponential", "mean": 1.0}),
        (4, 3.0, {"kind": "exponential", "mean": 1.0}),
        (8, 8.0, {"kind": "exponential", "mean": 1.0}),
        # Erlang B is insensitive to the service distribution beyond its mean (M/G/c/c)
        (4, 3.0, {"kind": "lognormal", "mean": 1.0, "cv": 1.5}),
    ],
)
def test_loss_system_erlang_b(servers, offered_erlangs, service):
    """queue_capacity 0 is a loss system M/M/c/c: served when a slot is free, else rejected (Erlang B)."""
    lam = offered_erlangs / service["mean"]
    res = run(queue_scenario(lam, service, servers, 40_000, queue_capacity=0), seed=17, record_requests=True)
    rq = in_arrival_order(res.requests)
    assert set(rq["outcome"].tolist()) == {"success", "rejected"}
    assert rq["wait_s"][rq["outcome"] == "success"].max() == 0.0  # nobody waits: there is no waiting room
    analytic = erlang_b(servers, offered_erlangs)
    kendall = "M" if service["kind"] == "exponential" else "G"
    blocked = checked(f"M/{kendall}/{servers}/{servers} a={offered_erlangs} blocking (Erlang B)",
                      (rq["outcome"] == "rejected").astype(float), analytic)
    assert blocked.contains(analytic)


@pytest.mark.parametrize(("servers", "rho"), [(1, 0.8), (3, 0.7)])
def test_littles_law(servers, rho):
    """Time-average number in system (from the server's area) = arrival rate x mean sojourn."""
    mu = 1.0
    lam = rho * servers * mu
    sc = queue_scenario(lam, {"kind": "exponential", "mean": 1 / mu}, servers, 40_000)
    res = run_live(sc, seed=21, record_requests=True)
    duration_s = sc.run.duration_s
    area = res.components["q-0"].area_in_system
    mean_in_system = area / duration_s
    assert res.summary["components"]["q-0"]["mean_in_system"] == pytest.approx(mean_in_system, rel=1e-6)
    arrivals = res.summary["accounting"]["arrivals"]
    sojourn = res.requests["latency_s"]
    lam_hat = arrivals / duration_s
    ci = batch_means_ci(in_arrival_order(res.requests, 0.0)["latency_s"], N_BATCHES, CONFIDENCE)
    little = lam_hat * sojourn.mean()
    print(f"\nLittle's law M/M/{servers} rho={rho}: L = {mean_in_system:.4f} (time average), "
          f"lambda W = {little:.4f} (lambda {lam_hat:.4f}/s, W {sojourn.mean():.4f} s), "
          f"in flight at end {res.summary['accounting']['in_flight_at_end']}")
    # the same sample path: L and lambda W differ only by the customers in flight at the end
    in_flight = res.summary["accounting"]["in_flight_at_end"]
    assert abs(mean_in_system - little) <= (in_flight * 3 * sojourn.max() / duration_s) + 1e-9
    # and both match theory within the run's own confidence interval (scaled by lambda)
    if servers == 1:
        analytic_l = lam * mm1_mean_response_s(lam, mu)
    else:
        analytic_l = lam * (mmc_mean_wait_s(lam, mu, servers) + 1 / mu)
    print(f"analytic L = {analytic_l:.4f}, CI of lambda W: {lam_hat * ci.low:.4f} .. {lam_hat * ci.high:.4f}")
    assert abs(mean_in_system - analytic_l) <= lam_hat * ci.half_width + abs(lam_hat - lam) * ci.mean


def test_shipped_mm2_scenario_matches_its_comments():
    """scenarios/validation/mm2.yaml states its analytic figures; the run must agree with them."""
    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "validation" / "mm2.yaml")
    server = sc.topology.pools[0].server
    lam = sc.workload.clients[0].arrival.rate_rps
    mu, c = 1 / server.service_time_s.mean, server.concurrency
    assert mmc_mean_wait_s(lam, mu, c) == pytest.approx(1.7778, abs=1e-4)
    assert erlang_c(c, lam / mu) == pytest.approx(0.7111, abs=1e-4)
    res = run(sc, record_requests=True)
    rq = in_arrival_order(res.requests)
    assert checked("scenarios/validation/mm2.yaml mean wait", rq["wait_s"], 1.7778).contains(1.7778)
    mean_in_system = res.summary["components"]["queue-0"]["mean_in_system"]
    print(f"mm2.yaml: L = {mean_in_system:.4f} (analytic 4.4444)")
    assert mean_in_system == pytest.approx(4.4444, rel=0.1)
