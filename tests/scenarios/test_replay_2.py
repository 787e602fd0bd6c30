"""Card 2, OpenAI API 2023-10-19: auth-cache shards fail under high load; impact keyed by customer
(scenarios/incidents/openai-2023-10-19-auth-cache.yaml).

The replay and its variants share one seed (the same arrivals and customers); each variant changes one
dotted path (sim.spec.loader.with_changes), so what differs is the mechanism.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sim.experiment.run import run_with_stack
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario, with_changes
from sim.spec.scenario import Scenario

REPLAY = Path(__file__).resolve().parents[2] / "scenarios" / "incidents" / "openai-2023-10-19-auth-cache.yaml"
SURGE_S = 120.0
PEAK_FROM_S = 600.0
"""The surge reaches its full level at 420 s; the peak is measured over the last 3 minutes."""


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(REPLAY)


@pytest.fixture(scope="module")
def replay(scenario: Scenario):
    return run_with_stack(scenario, record_requests=True)


def _failure_share(result: RunResult, from_s: float, to_s: float = float("inf")) -> float:
    ts = result.timeseries
    t = ts["t_s"]
    sel = (t >= from_s) & (t < to_s)
    ended = ts["ended"][sel].sum()
    return float(1 - ts["outcome_success"][sel].sum() / ended)


def _variant(scenario: Scenario, path: str, value) -> RunResult:
    return run_with_stack(with_changes(scenario, {path: value}))[0]


@pytest.fixture(scope="module")
def backoff(scenario: Scenario) -> RunResult:
    return _variant(scenario, "caches.auth-cache.backoff", {"failure_threshold": 5, "base_s": 1, "cap_s": 30})


def test_before_the_load_rises_nothing_fails_then_a_peak_of_the_published_size(replay):
    result, _ = replay
    assert _failure_share(result, 60.0, SURGE_S) < 0.005
    peak = _failure_share(result, PEAK_FROM_S)
    assert 0.45 < peak < 0.85  # published: 60 % (GPT-3.5) and 70 % (GPT-4)


def test_failures_are_keyed_by_customer_some_all_others_none(replay):
    result, stack = replay
    cache = stack.by_name["auth-cache"]
    req = result.requests
    late = np.asarray(req["end_s"]) >= PEAK_FROM_S
    users = np.asarray(req["user"])[late]
    ok = np.asarray(req["outcome"])[late] == "success"
    share = {int(u): 1 - ok[users == u].mean() for u in np.unique(users)}
    failed_shards = {i for i, s in enumerate(cache.shards) if s.overloaded}
    hit = [f for u, f in share.items() if cache.shard_of(u) in failed_shards]
    spared = [f for u, f in share.items() if cache.shard_of(u) not in failed_shards]
    assert hit and spared
    assert min(hit) > 0.9  # customers on a failed shard: (nearly) every request fails
    assert max(spared) < 0.02  # the others: none
    # the share of requests failing is the share of customers on failed shards (equal traffic each)
    assert _failure_share(result, PEAK_FROM_S) == pytest.approx(len(hit) / len(share), abs=0.08)


def test_the_busiest_shard_fails_first(replay):
    result, stack = replay
    cache = stack.by_name["auth-cache"]
    customers = Counter(cache.shard_of(u) for u in range(cache.key_space))
    first = next(t for t in result.transitions if t.component == "auth-cache" and t.state == "overloaded")
    assert first.t_s > SURGE_S and first.cause.mechanism == "shard_overload"
    busiest = max(customers, key=customers.get)
    assert first.cause.detail.startswith(f"shard {busiest} overloaded")


def test_counterfactual_backing_off_from_a_struggling_shard_contains_it(replay, backoff):
    result, _ = replay
    peak, contained = _failure_share(result, PEAK_FROM_S), _failure_share(backoff, PEAK_FROM_S)
    assert contained < 0.5 * peak
    # the failed shards serve at capacity instead of answering only commands nobody waits for
    assert backoff.summary["measured"]["outcomes"]["success"] > 1.3 * result.summary["measured"]["outcomes"]["success"]


def test_sensitivity_more_shard_capacity_or_less_load_fewer_failed_customers(scenario, replay):
    """The failure share is the traffic on shards past capacity: it falls with capacity and with load."""
    peak = _failure_share(replay[0], PEAK_FROM_S)
    lighter = _failure_share(_variant(scenario, "faults.afternoon-load.multiplier", 1.15), PEAK_FROM_S)
    scaled = _failure_share(_variant(scenario, "caches.auth-cache.shard_concurrency", 10), PEAK_FROM_S)
    assert scaled < 0.02 < lighter < 0.6 * peak


def test_the_overloaded_cache_names_the_surge_and_the_retries_that_load_it(replay):
    """Load is a cause: the cache's overload names the afternoon's load rise (the fault) and, once shards
    fail, the customers' retries with their amplification."""
    result, _ = replay
    over = [t for t in result.transitions if t.component == "auth-cache" and t.state == "overloaded"]
    assert over
    assert all(any(ld.kind == "fault" and ld.source == "afternoon-load" for ld in t.cause.loads) for t in over)
    assert any(ld.kind == "retries" for t in over for ld in t.cause.loads)
