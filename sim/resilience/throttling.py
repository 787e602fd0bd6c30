"""Client-side adaptive throttling (Google SRE book) and server-side token-bucket rate limiting.

Adaptive throttling: a client counts, over the last ``window_s``, the attempts it sent (requests) and
those the backend accepted (accepts), and rejects a new attempt locally with probability
max(0, (requests - K * accepts) / (requests + 1)). The counts live in a ring of 12 time slices, so
each attempt costs O(1).

Rate limiting: a token bucket per client class at a load balancer (Envoy local rate limit); an
attempt that finds the bucket empty is answered ``rate_limited`` (HTTP 429). With ``from_s`` the limit
switches on partway through a run (operators limiting incoming traffic during an incident).
"""

from __future__ import annotations

from collections.abc import Callable

from sim.engine.distributions import UniformSampler
from sim.spec.policies import RateLimitSpec, ThrottlingSpec

NOT_ACCEPTED = frozenset(("rejected", "rate_limited", "timeout", "no_healthy_upstream", "server_error"))
"""Outcomes that mean the backend did not accept the attempt (overload or failure to answer)."""

_SLICES = 12


class AdaptiveThrottle:
    """The SRE book's client-side throttle (see the module docstring)."""

    def __init__(self, spec: ThrottlingSpec, rng, now: Callable[[], float]):
        self.spec = spec
        self.k = spec.k
        self._u = UniformSampler(rng)
        self._now = now
        self._slice_s = spec.window_s / _SLICES
        self._requests = [0] * _SLICES
        self._accepts = [0] * _SLICES
        self._current = 0
        self._t_slice = 0
        self.requests = 0
        self.accepts = 0
        self.throttled = 0

    def _advance(self) -> None:
        t = int(self._now() / self._slice_s)
        if t == self._t_slice:
            return
        steps = min(_SLICES, t - self._t_slice)
        for _ in range(steps):
            self._current = (self._current + 1) % _SLICES
            self.requests -= self._requests[self._current]
            self.accepts -= self._accepts[self._current]
            self._requests[self._current] = 0
            self._accepts[self._current] = 0
        self._t_slice = t

    def reject_probability(self) -> float:
        """max(0, (requests - K * accepts) / (requests + 1)) over the window."""
        self._advance()
        return max(0.0, (self.requests - self.k * self.accepts) / (self.requests + 1))

    def admit(self) -> bool:
        """Whether to send an attempt now (counts it as a request either way, as the book does)."""
        p = self.reject_probability()
        self._requests[self._current] += 1
        self.requests += 1
        if p > 0 and self._u() < p:
            self.throttled += 1
            return False
        return True

    def record(self, outcome: str) -> None:
        """An attempt the client sent got an answer (or timed out)."""
        if outcome not in NOT_ACCEPTED:
            self._advance()
            self._accepts[self._current] += 1
            self.accepts += 1


class TokenBucket:
    """Refills at ``rate_rps`` up to ``burst``; each admitted attempt takes one token."""

    __slots__ = ("rate_rps", "burst", "tokens", "t_last")

    def __init__(self, rate_rps: float, burst: float):
        self.rate_rps = rate_rps
        self.burst = burst
        self.tokens = burst
        self.t_last = 0.0

    def take(self, now: float) -> bool:
        tokens = min(self.burst, self.tokens + (now - self.t_last) * self.rate_rps)
        self.t_last = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


class RateLimiter:
    """Token buckets per client class; classes not configured pass. The limit holds from ``spec.from_s`` on."""

    def __init__(self, spec: RateLimitSpec, class_of_client: dict[str, str]):
        self.buckets = {name: TokenBucket(c.rate_rps, c.burst) for name, c in spec.classes.items()}
        for bucket in self.buckets.values():
            bucket.t_last = spec.from_s
        self.from_s = spec.from_s
        self.class_of_client = class_of_client
        self.limited = 0

    def allow(self, client: str, now: float) -> bool:
        if now < self.from_s:
            return True
        bucket = self.buckets.get(self.class_of_client.get(client, client))
        if bucket is None or bucket.take(now):
            return True
        self.limited += 1
        return False
