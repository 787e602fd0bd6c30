"""Client retry policy: which failures to retry, and capped exponential backoff with jitter."""

from __future__ import annotations

from collections.abc import Callable

from sim.engine.distributions import UniformSampler
from sim.resilience.registry import Registry
from sim.spec.policies import RetrySpec

JITTERS: Registry[Callable[[float, Callable[[], float]], float]] = Registry("jitter")


@JITTERS.register("none")
def _no_jitter(wait_s: float, uniform: Callable[[], float]) -> float:
    return wait_s


@JITTERS.register("full")
def _full_jitter(wait_s: float, uniform: Callable[[], float]) -> float:
    """AWS 'full jitter': uniform in [0, wait]."""
    return wait_s * uniform()


NOT_RETRIED = frozenset(("cancelled",))


class RetryPolicy:
    """Retries every failure but cancellation, up to max_attempts, after a backoff."""

    def __init__(self, spec: RetrySpec, rng):
        self.spec = spec
        self._uniform = UniformSampler(rng)
        self._jitter = JITTERS.get(spec.jitter)

    def should_retry(self, reason: str, attempt_number: int) -> bool:
        """Whether attempt ``attempt_number`` (1-based) that failed with ``reason`` is retried."""
        return attempt_number < self.spec.max_attempts and reason not in NOT_RETRIED

    def backoff_s(self, attempt_number: int) -> float:
        """Wait before attempt ``attempt_number + 1``."""
        s = self.spec
        wait = min(s.backoff_cap_s, s.backoff_base_s * s.multiplier ** (attempt_number - 1))
        return self._jitter(wait, self._uniform)
