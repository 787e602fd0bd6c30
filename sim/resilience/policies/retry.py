"""Retry policy: which failures to retry, capped exponential backoff with jitter, and what limits retries.

Limits (each optional, both may be set):
- Envoy retry budget: a retry may start only while retries in flight < max(min_retry_concurrency,
  budget_percent % of the attempts in flight);
- gRPC retry throttling (token bucket): every failed attempt costs one token, every success earns
  ``token_ratio``; retries stop while the bucket holds max_tokens / 2 or less.

The holder (a client or a load balancer) tells the policy when attempts start and end
(``attempt_started`` / ``attempt_ended``), O(1) per attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sim.engine.distributions import UniformSampler
from sim.resilience.registry import Registry
from sim.spec.policies import RetrySpec


class Jitter(Protocol):
    """Turns the capped exponential wait into the actual wait, given the previous wait (for decorrelated)."""

    def __call__(self, wait_s: float, uniform: Callable[[], float], previous_s: float, spec: RetrySpec) -> float: ...


JITTERS: Registry[Jitter] = Registry("jitter")


@JITTERS.register("none")
def _no_jitter(wait_s: float, uniform: Callable[[], float], previous_s: float = 0.0, spec=None) -> float:
    return wait_s


@JITTERS.register("full")
def _full_jitter(wait_s: float, uniform: Callable[[], float], previous_s: float = 0.0, spec=None) -> float:
    """AWS 'full jitter': uniform in [0, wait]."""
    return wait_s * uniform()


@JITTERS.register("equal")
def _equal_jitter(wait_s: float, uniform: Callable[[], float], previous_s: float = 0.0, spec=None) -> float:
    """AWS 'equal jitter': wait/2 + uniform in [0, wait/2]."""
    half = wait_s / 2
    return half + half * uniform()


@JITTERS.register("decorrelated")
def _decorrelated_jitter(wait_s: float, uniform: Callable[[], float], previous_s: float = 0.0, spec=None) -> float:
    """AWS 'decorrelated jitter': min(cap, uniform(base, 3 * previous)), previous starting at base."""
    if spec is None:
        return wait_s * uniform()
    base = spec.backoff_base_s
    prev = max(previous_s, base)
    return min(spec.backoff_cap_s, base + (3 * prev - base) * uniform())


NOT_RETRIED = frozenset(("cancelled", "rate_limited"))
"""Never retried: the caller gave up, or the server asked the caller to back off (429)."""


class RetryPolicy:
    """Retries every failure but cancellation and rate limiting, up to max_attempts, after a backoff.

    Budget and token bucket (if configured) are shared by every request of the holder.
    """

    def __init__(self, spec: RetrySpec, rng):
        self.spec = spec
        self._uniform = UniformSampler(rng)
        self._jitter = JITTERS.get(spec.jitter)
        self.active = 0
        """Attempts in flight (first tries and retries)."""
        self.active_retries = 0
        self.budget = spec.budget
        self.bucket = spec.token_bucket
        self.tokens = spec.token_bucket.max_tokens if spec.token_bucket is not None else 0.0
        self.denied = 0
        """Retries refused by the budget or the token bucket."""
        self.counts_attempts = self.budget is not None or self.bucket is not None
        """Whether ``attempt_started`` / ``attempt_ended`` must be called: only a budget or a token bucket reads
        the attempts in flight and their outcomes, so without either a holder may skip both (two calls per attempt
        on the request path) and ``active`` / ``active_retries`` then stay 0."""
        self._waits: dict[int, tuple[float, float]] = {}
        """Attempt number → (its capped wait, the previous attempt's): computed once each."""

    def attempt_started(self, attempt_number: int) -> None:
        """An attempt left the holder (number 1 is the first try)."""
        self.active += 1
        if attempt_number > 1:
            self.active_retries += 1

    def attempt_ended(self, attempt_number: int, ok: bool) -> None:
        """An attempt ended; ``ok`` when it was served."""
        self.active -= 1
        if attempt_number > 1:
            self.active_retries -= 1
        bucket = self.bucket
        if bucket is not None:
            if ok:
                self.tokens = min(bucket.max_tokens, self.tokens + bucket.token_ratio)
            else:
                self.tokens = max(0.0, self.tokens - 1.0)

    def allowed(self) -> bool:
        """Whether the budget and the token bucket let one more retry start now."""
        budget = self.budget
        if budget is not None:
            limit = max(budget.min_retry_concurrency, budget.budget_percent / 100 * self.active)
            if self.active_retries >= limit:
                return False
        bucket = self.bucket
        if bucket is not None and self.tokens <= bucket.max_tokens / 2:
            return False
        return True

    def should_retry(self, reason: str, attempt_number: int) -> bool:
        """Whether attempt ``attempt_number`` (1-based) that failed with ``reason`` is retried."""
        if attempt_number >= self.spec.max_attempts or reason in NOT_RETRIED:
            return False
        if self.counts_attempts and not self.allowed():
            self.denied += 1
            return False
        return True

    def backoff_s(self, attempt_number: int) -> float:
        """Wait before attempt ``attempt_number + 1``.

        Decorrelated jitter needs the previous wait; it is taken as the un-jittered wait of the
        previous attempt (so the policy keeps no per-request state).
        """
        waits = self._waits.get(attempt_number)
        if waits is None:
            s = self.spec
            wait = min(s.backoff_cap_s, s.backoff_base_s * s.multiplier ** (attempt_number - 1))
            previous = min(s.backoff_cap_s, s.backoff_base_s * s.multiplier ** max(0, attempt_number - 2))
            waits = self._waits[attempt_number] = (wait, previous)
        if self._jitter is _full_jitter:  # the default, inline
            return waits[0] * self._uniform()
        return self._jitter(waits[0], self._uniform, waits[1], self.spec)
