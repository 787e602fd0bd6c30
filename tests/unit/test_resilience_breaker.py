"""Circuit breaker (resilience4j semantics) and the guarded dependency."""

from __future__ import annotations

from types import SimpleNamespace

from sim.resilience.policies.circuit_breaker import CircuitBreaker, GuardedDependency
from sim.spec.policies import CircuitBreakerSpec


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def breaker(**spec) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    base = {"enabled": True, "sliding_window_size": 10, "minimum_number_of_calls": 10,
            "wait_duration_in_open_state_s": 5, "permitted_number_of_calls_in_half_open_state": 2}
    return CircuitBreaker(CircuitBreakerSpec(**{**base, **spec}), clock), clock


def test_defaults_are_resilience4j():
    spec = CircuitBreakerSpec()
    assert (spec.failure_rate_threshold, spec.sliding_window_size, spec.minimum_number_of_calls,
            spec.wait_duration_in_open_state_s, spec.permitted_number_of_calls_in_half_open_state,
            spec.slow_call_rate_threshold, spec.slow_call_duration_threshold_s) == (50, 100, 100, 60, 10, 100, 60)
    assert not spec.enabled


def test_opens_at_the_failure_rate_only_after_minimum_calls():
    cb, _ = breaker()
    for _ in range(9):
        cb.record(False, 0.01)
    assert cb.state == "closed", "9 calls < minimum 10"
    cb.record(True, 0.01)
    assert cb.state == "open", "9 of 10 failed >= 50 %"
    assert not cb.allow() and cb.rejected == 1


def test_stays_closed_below_the_threshold():
    cb, _ = breaker()
    for i in range(100):
        cb.record(i % 3 != 0, 0.01)  # a third fail
    assert cb.state == "closed"


def test_slow_calls_open_it():
    cb, _ = breaker(slow_call_rate_threshold=50, slow_call_duration_threshold_s=1.0)
    for _ in range(10):
        cb.record(True, 2.0)
    assert cb.state == "open"


def test_half_open_trials_close_or_reopen():
    cb, clock = breaker()
    for _ in range(10):
        cb.record(False, 0.01)
    clock.t = 5.0
    assert cb.allow() and cb.state == "half_open"
    assert cb.allow() and not cb.allow(), "only 2 trial calls"
    cb.record(True, 0.01)
    cb.record(True, 0.01)
    assert cb.state == "closed"
    for _ in range(10):
        cb.record(False, 0.01)
    clock.t = 10.0
    cb.allow()
    cb.allow()
    cb.record(False, 0.01)
    cb.record(True, 0.01)
    assert cb.state == "open", "1 of 2 trials failed: 50 % reopens"
    assert [s for _, s in cb.history] == ["open", "half_open", "closed", "open", "half_open", "open"]


def test_guarded_dependency_fails_fast_when_open():
    calls = []
    inner = SimpleNamespace(name="db", call_for=lambda user, zone, done, *a: calls.append(a) or done(*a, True))
    cb, clock = breaker()
    guarded = GuardedDependency(inner, cb, clock)
    results = []
    guarded.call_for(1, "z", lambda *a: results.append(a[-1]), "x")
    assert results == [True] and len(calls) == 1
    for _ in range(10):
        cb.record(False, 0.0)
    guarded.call_for(1, "z", lambda *a: results.append(a[-1]), "x")
    assert results == [True, False] and len(calls) == 1, "not sent to the dependency"
    assert guarded.name == "db"
