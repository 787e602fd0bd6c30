"""Retry policy: jitter contract, backoff formula, Envoy retry budget, gRPC token bucket, and which attempts
a client tells it of."""

from __future__ import annotations

import numpy as np
import pytest

from sim import parse_scenario_text
from sim.experiment.run import run_with_stack
from sim.resilience.policies.retry import JITTERS, RetryPolicy
from sim.spec.policies import RetryBudgetSpec, RetrySpec, RetryTokenBucketSpec


@pytest.mark.parametrize("name", JITTERS.names())
def test_jitter_contract(name):
    """Every jitter: within [0, cap], deterministic for a seed, and the same shape of call."""
    spec = RetrySpec(jitter=name, backoff_base_s=0.1, backoff_cap_s=2.0, max_attempts=10)
    waits = []
    for _ in range(2):
        policy = RetryPolicy(spec, np.random.default_rng(7))
        waits.append([policy.backoff_s(n) for n in range(1, 9) for _ in range(20)])
    assert waits[0] == waits[1]
    assert all(0.0 <= w <= spec.backoff_cap_s for w in waits[0])


def test_backoff_without_jitter_is_capped_exponential():
    policy = RetryPolicy(RetrySpec(jitter="none", backoff_base_s=0.1, backoff_cap_s=1.0), np.random.default_rng(1))
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])


def test_equal_jitter_keeps_at_least_half_the_wait():
    policy = RetryPolicy(RetrySpec(jitter="equal", backoff_base_s=1.0, backoff_cap_s=8.0), np.random.default_rng(1))
    waits = [policy.backoff_s(3) for _ in range(500)]
    assert min(waits) >= 2.0 and max(waits) <= 4.0 and np.mean(waits) == pytest.approx(3.0, abs=0.1)


def test_decorrelated_jitter_stays_between_base_and_three_times_previous():
    spec = RetrySpec(jitter="decorrelated", backoff_base_s=1.0, backoff_cap_s=100.0)
    policy = RetryPolicy(spec, np.random.default_rng(1))
    waits = [policy.backoff_s(3) for _ in range(500)]  # previous (un-jittered) wait: 2 s
    assert min(waits) >= 1.0 and max(waits) <= 6.0


def test_max_attempts_and_reasons_not_retried():
    policy = RetryPolicy(RetrySpec(max_attempts=3), np.random.default_rng(1))
    assert policy.should_retry("timeout", 1) and policy.should_retry("server_error", 2)
    assert not policy.should_retry("timeout", 3)
    assert not policy.should_retry("cancelled", 1) and not policy.should_retry("rate_limited", 1)


def test_retry_budget_is_a_share_of_active_requests_with_a_minimum():
    spec = RetrySpec(max_attempts=5, budget=RetryBudgetSpec())  # Envoy: 20 %, at least 3
    policy = RetryPolicy(spec, np.random.default_rng(1))
    for _ in range(10):
        policy.attempt_started(1)
    for _ in range(3):
        assert policy.should_retry("timeout", 1)
        policy.attempt_started(2)
    assert not policy.should_retry("timeout", 1), "3 retries in flight = max(3, 20 % of 13)"
    for _ in range(20):
        policy.attempt_started(1)
    assert policy.should_retry("timeout", 1), "33 active: 20 % is 6.6 > 3"
    assert policy.denied == 1


def test_token_bucket_stops_retries_below_half_and_refills_with_successes():
    spec = RetrySpec(max_attempts=5, token_bucket=RetryTokenBucketSpec())  # gRPC: 10 tokens, 0.1 per success
    policy = RetryPolicy(spec, np.random.default_rng(1))
    for _ in range(5):
        policy.attempt_started(1)
        policy.attempt_ended(1, ok=False)
    assert policy.tokens == 5.0 and not policy.should_retry("timeout", 1), "retry only while tokens > 5"
    for _ in range(11):
        policy.attempt_started(1)
        policy.attempt_ended(1, ok=True)
    assert policy.tokens == pytest.approx(6.1) and policy.should_retry("timeout", 1)


def test_retry_spec_defaults_and_validation():
    spec = RetrySpec()
    assert (spec.max_attempts, spec.jitter, spec.layer, spec.budget, spec.token_bucket) == (3, "full", "client",
                                                                                             None, None)
    assert RetryBudgetSpec().budget_percent == 20 and RetryBudgetSpec().min_retry_concurrency == 3
    assert RetryTokenBucketSpec().token_ratio == 0.1
    with pytest.raises(ValueError):
        RetrySpec(backoff_base_s=2.0, backoff_cap_s=1.0)


def test_only_a_budget_or_a_token_bucket_needs_the_attempts_counted():
    def policy(**kw):
        return RetryPolicy(RetrySpec(max_attempts=3, **kw), np.random.default_rng(1))

    assert not policy().counts_attempts
    assert policy(budget=RetryBudgetSpec()).counts_attempts
    assert policy(token_bucket=RetryTokenBucketSpec()).counts_attempts


OVERLOADED = """
name: retried
topology:
  load_balancers: [{{name: lb, upstream: [queue], health_check: {{enabled: false}}}}]
  pools:
    - name: queue
      replicas: 1
      server: {{mode: plain, concurrency: 1, service_time_s: {{kind: exponential, mean: 1.0}}, queue_capacity: 2}}
workload:
  clients:
    - {{name: users, target: [lb], arrival: {{kind: poisson, rate_rps: 3}}, timeout_s: 30,
       retry: {{max_attempts: 3, backoff_base_s: 0.1, backoff_cap_s: 1.0{extra}}}}}
run: {{duration_s: 200, warmup_s: 0, seed: 1, bucket_s: 10}}
"""


@pytest.mark.parametrize("extra", ["", ", budget: {}", ", token_bucket: {}"])
def test_a_client_counts_attempts_for_its_retry_policy_only_when_the_policy_reads_them(monkeypatch, extra):
    """Without a budget or bucket the client skips both calls (two per attempt on the request path); with one,
    every attempt is counted as it starts and as it ends, so the policy's in-flight count is the attempts still
    open when the run ends (at most the one in service and the two queued)."""
    calls = {"started": 0, "ended": 0}
    started, ended = RetryPolicy.attempt_started, RetryPolicy.attempt_ended

    def count_started(self, number):
        calls["started"] += 1
        started(self, number)

    def count_ended(self, number, ok):
        calls["ended"] += 1
        ended(self, number, ok)

    monkeypatch.setattr(RetryPolicy, "attempt_started", count_started)
    monkeypatch.setattr(RetryPolicy, "attempt_ended", count_ended)
    result, stack = run_with_stack(parse_scenario_text(OVERLOADED.format(extra=extra)))
    attempts = result.summary["attempts"]
    assert attempts > result.summary["accounting"]["arrivals"], "the queue overflows and attempts are retried"
    retry = stack.by_name["users"].retry
    if extra:
        assert calls["started"] == attempts
        open_attempts = calls["started"] - calls["ended"]
        assert retry.active == open_attempts and open_attempts <= 3
    else:
        assert calls == {"started": 0, "ended": 0} and retry.active == 0
