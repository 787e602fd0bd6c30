"""Retained memory (pool ``memory.retained_share``): a process that keeps its peak per-request memory stays
above its readiness limit after its requests end, so it stays out of rotation until it restarts; one
that gives it back is ready again once it drains. The OOM kill still follows the memory in flight."""

from __future__ import annotations

import pytest
import yaml

from sim import parse_scenario
from sim.spec.loader import ScenarioError
from tests.helpers import run_live

BASE = """
name: retained
topology:
  load_balancers:
    - {name: lb, upstream: [p]}
  pools:
    - name: p
      replicas: 1
      server: {mode: plain, concurrency: 2, queue_capacity: 500, model_load_s: 5,
               service_time_s: {kind: deterministic, value: 0.5}}
      memory: {limit_mb: 1000, baseline_mb: 100, per_request_mb: 10, readiness_limit_mb: 300}
workload:
  clients:
    - {name: u, target: [lb], arrival: {kind: poisson, rate_rps: 2}, timeout_s: 60}
faults:
  - {id: surge, kind: surge, target: {name: u}, at_s: 20, duration_s: 15, multiplier: 4}
policies:
  health_check: {period_s: 2, failure_threshold: 2}
run: {duration_s: 160, seed: 1, bucket_s: 5}
"""
"""One replica of 4 requests/s; a surge to 8 requests/s for 15 s puts more than 20 requests (200 MB above
the 100 MB baseline: the 300 MB readiness limit) in flight, far from the 90 of the OOM kill."""


def _run(share: float, faults: list[dict] | None = None):
    data = yaml.safe_load(BASE)
    data["topology"]["pools"][0]["memory"]["retained_share"] = share
    data["faults"] += faults or []
    return run_live(parse_scenario(data))


def _states(result) -> list[tuple[float, str]]:
    return [(t.t_s, t.state) for t in result.transitions if t.component == "p-0"]


def _ok_after(result, t_s: float) -> float:
    ts = result.timeseries
    keep = ts["t_s"] >= t_s
    return float(ts["outcome_success"][keep].sum() / max(1, ts["ended"][keep].sum()))


def test_memory_given_back_the_replica_is_ready_again_once_it_drains():
    result = _run(0.0)
    states = _states(result)
    assert any(s == "overloaded" and 20 < t < 50 for t, s in states)  # readiness failed on memory
    assert states[-1][1] == "healthy"
    assert _ok_after(result, 100) > 0.99
    assert result.components["p-0"].memory.oom_kills == 0


def test_memory_kept_at_its_peak_the_replica_stays_out_of_rotation_until_it_restarts():
    kept = _run(1.0)
    memory = kept.components["p-0"].memory
    assert _states(kept)[-1][1] == "overloaded"  # still failing readiness at the end, nothing in flight
    assert kept.components["p-0"].outstanding == 0
    assert memory.used_mb() == memory.baseline_mb + memory.peak_in_flight_mb > 300
    assert memory.oom_kills == 0  # the retained memory is reused: no OOM kill nearer
    assert _ok_after(kept, 100) < 0.01  # nothing serves: no healthy upstream
    restarted = _run(1.0, [{"id": "restart", "kind": "crash", "target": {"name": "p-0"}, "at_s": 100,
                            "restart_delay_s": 2}])
    assert _states(restarted)[-1][1] == "healthy"  # a restart gives it all back
    assert restarted.components["p-0"].memory.peak_in_flight_mb < 300 - 100
    assert _ok_after(restarted, 120) > 0.99


def test_a_share_below_the_readiness_room_over_the_oom_room_never_keeps_a_replica_out():
    """A drained replica stays out only if share x its peak exceeds the room under the readiness limit
    (200 MB); its peak stays under limit - baseline (900 MB, else it is OOM-killed), so a share up to
    200 / 900 always gives enough back: the replica returns once it drains."""
    assert _states(_run(200 / 900))[-1][1] == "healthy"


def test_a_share_outside_zero_to_one_is_one_clear_line():
    data = yaml.safe_load(BASE)
    data["topology"]["pools"][0]["memory"]["retained_share"] = 1.5
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "retained_share" in str(err.value) and "less than or equal to 1" in str(err.value)
