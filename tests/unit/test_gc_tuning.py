"""The simulation loop runs with the built stack frozen and raised collector thresholds, restored afterwards."""

from __future__ import annotations

import gc

import pytest

from sim import parse_scenario_text, run
from sim.engine.world import Clock
from sim.experiment.gc_tuning import RUN_THRESHOLDS, tuned_gc

TINY = """
name: tiny
topology:
  load_balancers: [{name: lb, upstream: [q], health_check: {enabled: false}}]
  pools: [{name: q, replicas: 1, server: {mode: plain, concurrency: 1, service_time_s: {kind: exponential, mean: 0.5}}}]
workload:
  clients: [{name: c, target: [lb], arrival: {kind: poisson, rate_rps: 1.0}}]
run: {duration_s: 20, warmup_s: 0, seed: 1, bucket_s: 10}
"""


def test_settings_inside_and_restored_after():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with tuned_gc():
        assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_freeze_count() > frozen_before  # what existed when the run started is out of the collector's way
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_restored_after_an_error():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), tuned_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_run_simulates_under_the_tuned_settings(monkeypatch):
    seen = []
    original = Clock.run

    def spy(env, until=None):
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return original(env, until)

    monkeypatch.setattr(Clock, "run", spy)
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    run(parse_scenario_text(TINY))
    assert seen and all(t == RUN_THRESHOLDS and frozen > frozen_before for t, frozen in seen)
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen_before
