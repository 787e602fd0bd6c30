"""Server-side rate limiting: a token bucket per client class at a load balancer (Envoy local rate limit).

An attempt that finds its class's bucket empty is answered ``rate_limited`` (HTTP 429). With ``from_s``
the limit switches on partway through a run (operators limiting incoming traffic during an incident).
"""

from __future__ import annotations

from sim.spec.policies import RateLimitSpec


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
