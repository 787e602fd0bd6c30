"""Random mutations of valid scenarios never give a traceback, a hang or a broken account (hypothesis).

A hostile user's scenario is a valid one with something changed: a type (a string for a number, a
boolean for a count), a sign, a magnitude (1e308, 10**30, 1e-300), a name (a replica's, a reserved
one, another component's), a deleted key or an unknown one. Whatever the mutation, ``parse_scenario``
either returns a scenario or raises ScenarioError with one-line problems; and a scenario it accepts
runs to the end in bounded time with every request accounted for. The run property keeps durations
tiny and the work limit low so the suite stays fast.
"""

from __future__ import annotations

import copy
import signal
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import run
from sim.spec import Scenario, ScenarioError, parse_scenario

BASE: dict[str, Any] = {
    "name": "mutant",
    "topology": {
        "zones": ["a", "b"],
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["gpu", "cpu"],
                            "health_check": {"period_s": 1.0}, "outlier_detection": {"enabled": True}}],
        "pools": [
            {"name": "gpu", "replicas": 2, "zones": ["a", "b"], "database": "cache",
             "server": {"mode": "llm", "model_load_s": 0.5, "max_batch_size": 8, "kv_cache_tokens": 20000},
             "autoscaling": {"enabled": True, "max_replicas": 3, "sync_period_s": 1.0}},
            {"name": "cpu", "replicas": 1, "labels": {"tier": "small"},
             "server": {"mode": "plain", "concurrency": 2,
                        "service_time_s": {"kind": "lognormal", "mean": 0.05, "cv": 1.5}}},
        ],
        "databases": [{"name": "db", "zone": "a", "pool_size": 4}],
        "caches": [{"name": "cache", "database": "db"}],
    },
    "workload": {"clients": [{"name": "users", "target": ["lb"], "zone": "a", "users": 50,
                              "arrival": {"kind": "poisson", "rate_rps": 4.0,
                                          "schedule": [{"at_s": 1.0, "rate_rps": 6.0}]},
                              "prompt_tokens": {"kind": "gamma", "mean": 200, "cv": 0.5},
                              "output_tokens": {"kind": "uniform", "low": 5, "high": 40},
                              "timeout_s": 2.0, "retry": {"max_attempts": 3, "backoff_base_s": 0.05}}]},
    "faults": [
        {"id": "crash", "kind": "crash", "target": {"name": "gpu-1"}, "at_s": 0.5, "duration_s": 1.0,
         "restart_delay_s": 0.2},
        {"id": "slow", "kind": "latency_inflation", "target": {"labels": {"tier": "small"}}, "at_s": 1.0,
         "duration_s": 1.0, "slow_factor": 4.0, "ramp_s": 0.5},
        {"id": "flaky", "kind": "error_rate", "target": {"pool": "gpu", "count": 1}, "at_s": 0.2,
         "stochastic": {"mtbf_s": 1.0, "mttr_s": 0.5, "distribution": "weibull", "shape": 1.5}},
    ],
    "policies": {"rate_limit": {"enabled": True, "classes": {"users": {"rate_rps": 20, "burst": 5}}}},
    "run": {"duration_s": 3.0, "bucket_s": 0.5, "seed": 1},
}

NAMES = ["gpu-0", "gpu-7", "discovery", "control-plane", "lb", "db", "users", "a", "", "x" * 200, "gpu"]
HUGE = [1e308, -1e308, 1e-300, 10**30, -(10**30), 2**63, 2**64, 0, -1, 0.0, -0.0, 1e15]
ODD = [True, False, None, "3", "", "nan", [], {}, [1, 2], {"kind": "exponential"}, "x" * 1000]


def _leaves(node: Any, keys: tuple = ()) -> list[tuple]:
    """Key paths of every value (containers included) in plain scenario data."""
    out = [keys] if keys else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _leaves(value, (*keys, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _leaves(value, (*keys, i))
    return out


def _get(data: Any, keys: tuple) -> Any:
    for key in keys:
        data = data[key]
    return data


@st.composite
def mutants(draw) -> dict[str, Any]:
    """BASE with one to three mutations."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = _leaves(data)
        if not paths:
            break
        keys = draw(st.sampled_from(paths))
        parent = _get(data, keys[:-1])
        old = parent[keys[-1]]
        op = draw(st.sampled_from(["type", "sign", "magnitude", "name", "delete", "unknown", "scale"]))
        if op == "delete":
            del parent[keys[-1]]
            continue
        if op == "unknown" and isinstance(old, dict):
            old["surprise"] = draw(st.sampled_from(ODD + HUGE))
            continue
        if op == "sign" and isinstance(old, int | float) and not isinstance(old, bool):
            new: Any = -old
        elif op == "scale" and isinstance(old, int | float) and not isinstance(old, bool):
            factor = draw(st.sampled_from([1e-9, 1e-3, 1e3, 1e6, 1e12]))
            new = type(old)(old * factor) if isinstance(old, float) else int(old * factor)
        elif op == "magnitude":
            new = draw(st.sampled_from(HUGE))
        elif op == "name":
            new = draw(st.sampled_from(NAMES))
        else:
            new = draw(st.sampled_from(ODD + HUGE + NAMES))
        parent[keys[-1]] = new
    return data


@st.composite
def numeric_mutants(draw) -> dict[str, Any]:
    """BASE with one or two of its numbers scaled, negated, zeroed or deleted: often still valid, so runs."""
    data = copy.deepcopy(BASE)
    paths = [k for k in _leaves(data) if isinstance(_get(data, k), int | float) and not isinstance(_get(data, k), bool)]
    for keys in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True)):
        parent = _get(data, keys[:-1])
        old = parent[keys[-1]]
        op = draw(st.sampled_from(["scale", "scale", "sign", "zero", "delete"]))
        if op == "delete":
            del parent[keys[-1]]
        elif op == "zero":
            parent[keys[-1]] = 0 if isinstance(old, int) else 0.0
        elif op == "sign":
            parent[keys[-1]] = -old
        else:
            factor = draw(st.sampled_from([1e-6, 1e-2, 0.5, 3.0, 100.0, 1e4]))
            parent[keys[-1]] = old * factor if isinstance(old, float) else max(1, int(old * factor))
    return data


class _Hung(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging the suite) if the body takes longer than ``seconds``."""

    def alarm(signum, frame):
        raise _Hung(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_base_is_valid_and_runs():
    result = run(parse_scenario(copy.deepcopy(BASE)))
    assert result.summary["accounting"]["balanced"]


def _validate(data: dict, max_events: int | None = None) -> Scenario | None:
    kwargs = {} if max_events is None else {"max_events": max_events}
    try:
        with time_limit(10):
            return parse_scenario(data, **kwargs)
    except ScenarioError as err:
        assert err.problems
        for problem in err.problems:
            line = str(problem)
            assert "\n" not in line and len(line) < 1000, line[:300]
            assert problem.path and problem.reason
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=mutants())
def test_validate_never_raises_anything_but_one_line_problems(data):
    _validate(data)


ACCEPTED: list[bool] = []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=st.one_of(numeric_mutants(), mutants()))
def test_an_accepted_mutant_runs_quickly_with_every_request_accounted_for(data):
    scenario = _validate(data, max_events=300_000)
    ACCEPTED.append(scenario is not None)
    if scenario is None:
        return
    with time_limit(60):
        result = run(scenario)
    acc = result.summary["accounting"]
    assert acc["balanced"] and acc["arrivals"] == acc["ended"] + acc["in_flight_at_end"]


def test_the_run_property_ran_scenarios():
    """The property above is not vacuous: a good share of its mutants were valid and ran."""
    if not ACCEPTED:  # run alone, or on another worker
        test_an_accepted_mutant_runs_quickly_with_every_request_accounted_for()
    assert sum(ACCEPTED) >= 10, f"only {sum(ACCEPTED)} of {len(ACCEPTED)} mutants ran"
