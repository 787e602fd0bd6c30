"""Circuit breaker with resilience4j semantics, and the guarded dependency a replica calls through it.

closed: calls pass; the outcomes of the last ``sliding_window_size`` calls are kept (count-based
window). Once at least ``minimum_number_of_calls`` are recorded, the breaker opens when the failure
rate reaches ``failure_rate_threshold`` or the share of calls slower than
``slow_call_duration_threshold_s`` reaches ``slow_call_rate_threshold``.
open: calls fail at once (no waiting on a broken dependency) for ``wait_duration_in_open_state_s``,
then half-open.
half_open: ``permitted_number_of_calls_in_half_open_state`` trial calls pass; when they have all
completed, the breaker closes if their failure and slow rates are under the thresholds, else opens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sim.spec.policies import CircuitBreakerSpec


class CircuitBreaker:
    """One breaker: ``allow()`` before a call, ``record(ok, duration_s)`` after it. O(1) per call."""

    def __init__(self, spec: CircuitBreakerSpec, now: Callable[[], float]):
        self.spec = spec
        self._now = now
        self.state = "closed"
        self._window: deque[tuple[bool, bool]] = deque()
        self._fails = 0
        self._slows = 0
        self._opened_at = 0.0
        self._trials_left = 0
        self._trial_results: list[tuple[bool, bool]] = []
        self.history: list[tuple[float, str]] = []
        """(time, new state) for every transition."""
        self.on_change: Callable[[str], None] | None = None
        """Called with the new state at every transition (the holder records it on the timeline)."""
        self.rejected = 0

    def _to(self, state: str) -> None:
        self.state = state
        self.history.append((self._now(), state))
        if self.on_change is not None:
            self.on_change(state)

    def allow(self) -> bool:
        """Whether a call may go through now."""
        state = self.state
        if state == "closed":
            return True
        if state == "open":
            if self._now() - self._opened_at < self.spec.wait_duration_in_open_state_s:
                self.rejected += 1
                return False
            self._to("half_open")
            self._trials_left = self.spec.permitted_number_of_calls_in_half_open_state
            self._trial_results = []
        if self._trials_left > 0:
            self._trials_left -= 1
            return True
        self.rejected += 1
        return False

    def record(self, ok: bool, duration_s: float) -> None:
        """The outcome of a call that was allowed."""
        spec = self.spec
        slow = duration_s >= spec.slow_call_duration_threshold_s
        if self.state == "half_open":
            self._trial_results.append((ok, slow))
            if len(self._trial_results) >= spec.permitted_number_of_calls_in_half_open_state:
                n = len(self._trial_results)
                fails = sum(1 for good, _ in self._trial_results if not good)
                slows = sum(1 for _, s in self._trial_results if s)
                if self._breached(fails, slows, n):
                    self._open()
                else:
                    self._window.clear()
                    self._fails = self._slows = 0
                    self._to("closed")
            return
        if self.state != "closed":
            return
        window = self._window
        window.append((ok, slow))
        self._fails += not ok
        self._slows += slow
        if len(window) > spec.sliding_window_size:
            old_ok, old_slow = window.popleft()
            self._fails -= not old_ok
            self._slows -= old_slow
        n = len(window)
        if n >= spec.minimum_number_of_calls and self._breached(self._fails, self._slows, n):
            self._open()

    def _breached(self, fails: int, slows: int, n: int) -> bool:
        spec = self.spec
        return (100.0 * fails / n >= spec.failure_rate_threshold
                or 100.0 * slows / n >= spec.slow_call_rate_threshold)

    def _open(self) -> None:
        self._opened_at = self._now()
        self._window.clear()
        self._fails = self._slows = 0
        self._to("open")


class GuardedDependency:
    """A database or cache as a replica sees it through a circuit breaker (same ``call_for`` interface).

    An open breaker answers the call as failed at once, so the replica replies ``dependency_error``
    without holding the request for the dependency's timeout.
    """

    def __init__(self, inner: Any, breaker: CircuitBreaker, now: Callable[[], float]):
        self.inner = inner
        self.breaker = breaker
        self._now = now
        self.name = inner.name

    def call_for(self, user: int, zone: str, on_done: Callable[..., None], *args: Any) -> None:
        if not self.breaker.allow():
            on_done(*args, False)
            return
        t0 = self._now()
        breaker = self.breaker
        now = self._now

        def done(*a: Any) -> None:
            breaker.record(a[-1], now() - t0)
            on_done(*a)

        self.inner.call_for(user, zone, done, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def breaker_guard(spec: CircuitBreakerSpec, now: Callable[[], float]) -> Callable[[Any, Callable[[str], None]], Any]:
    """A replica's dependency guard: wraps its dependency in a fresh breaker whose state changes the
    replica hears (``ServerPolicies.dependency_guard``)."""

    def guard(dependency: Any, on_change: Callable[[str], None]) -> GuardedDependency:
        breaker = CircuitBreaker(spec, now)
        breaker.on_change = on_change
        return GuardedDependency(dependency, breaker, now)

    return guard
