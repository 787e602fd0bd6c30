"""Client-side adaptive throttling (Google SRE book).

Adaptive throttling: a client counts, over the last ``window_s``, the attempts it sent (requests) and
those the backend accepted (accepts), and rejects a new attempt locally with probability
max(0, (requests - K * accepts) / (requests + 1)). The counts live in a ring of 12 time slices, so
each attempt costs O(1).
"""

from __future__ import annotations

from collections.abc import Callable

from sim.engine.distributions import UniformSampler
from sim.spec.policies import ThrottlingSpec

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
