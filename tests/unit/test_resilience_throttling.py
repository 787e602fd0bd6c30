"""Client-side adaptive throttling (SRE book) and token-bucket rate limiting."""

from __future__ import annotations

import numpy as np
import pytest

from sim.resilience.policies.rate_limit import RateLimiter, TokenBucket
from sim.resilience.policies.throttling import AdaptiveThrottle
from sim.spec.policies import RateLimitClassSpec, RateLimitSpec, ThrottlingSpec


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_defaults_are_the_sre_books():
    spec = ThrottlingSpec()
    assert spec.k == 2 and spec.window_s == 120 and not spec.enabled


def test_reject_probability_follows_the_formula():
    clock = Clock()
    throttle = AdaptiveThrottle(ThrottlingSpec(enabled=True), np.random.default_rng(1), clock)
    assert throttle.reject_probability() == 0
    for i in range(100):
        throttle.admit()
        if i < 20:
            throttle.record("success")
        else:
            throttle.record("rejected")
    requests, accepts = throttle.requests, throttle.accepts
    assert (requests, accepts) == (100, 20), "throttled attempts count as requests, as in the book"
    assert throttle.reject_probability() == pytest.approx(max(0, (requests - 2 * accepts) / (requests + 1)))


def test_no_throttling_while_the_backend_accepts():
    clock = Clock()
    throttle = AdaptiveThrottle(ThrottlingSpec(enabled=True), np.random.default_rng(1), clock)
    for _ in range(1000):
        assert throttle.admit()
        throttle.record("success")


def test_counts_leave_the_window():
    clock = Clock()
    throttle = AdaptiveThrottle(ThrottlingSpec(enabled=True, window_s=12), np.random.default_rng(1), clock)
    for _ in range(50):
        throttle.admit()
        throttle.record("timeout")
    assert throttle.reject_probability() > 0.9
    clock.t = 30.0
    assert throttle.reject_probability() == 0 and throttle.requests == 0


def test_token_bucket_rate_and_burst():
    bucket = TokenBucket(rate_rps=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5), "one token back after 0.5 s at 2/s"
    passed = sum(bucket.take(1.0 + i * 0.01) for i in range(1000))
    assert passed == pytest.approx(2.0 * 10.0, abs=2)


def test_rate_limiter_by_class():
    limiter = RateLimiter(RateLimitSpec(enabled=True, classes={"free": RateLimitClassSpec(rate_rps=1, burst=1)}),
                          {"web": "free", "api": "api"})
    assert limiter.allow("web", 0.0) and not limiter.allow("web", 0.1)
    assert all(limiter.allow("api", 0.1) for _ in range(100)), "classes not listed are not limited"
    assert limiter.limited == 1
