"""Card 12 (Google Cloud 2025-06-12): a bad policy crash-loops the API check in every region; the largest
region's restart herd on its database makes a long tail after the policy is disabled.

Shape, counterfactual (randomized exponential backoff on the start-ups) and sensitivity (the
regional database's connections set the herd size the region can absorb) of
scenarios/incidents/google-2025-06-12-config-push.yaml, on one seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.spec.loader import load_scenario
from tests.scenarios.replays import all_healthy_after, incident, replay_fixtures

FILE = incident("google-2025-06-12-config-push.yaml")
PUSH_S, DISABLED_S = 360.0, 360.0 + 2400.0  # 10:51 and 11:31 PDT
LARGEST = "api-check-us-central-"


scenario, replay = replay_fixtures(FILE, {"run.duration_s": 3600.0})


@pytest.fixture(scope="module")
def jittered_tail_s() -> float:
    """The largest region's tail with full-jitter exponential backoff (1 s doubling to 60 s) on the start-ups."""
    res = run(load_scenario(FILE, {"pools.api-check-us-central.startup.retry.backoff_cap_s": 60.0,
                                   "pools.api-check-us-central.startup.retry.multiplier": 2.0,
                                   "pools.api-check-us-central.startup.retry.jitter": "full",
                                   "run.duration_s": DISABLED_S + 300}))
    return all_healthy_after(res, LARGEST, DISABLED_S)


def test_global_crash_loop_within_seconds_until_the_disable(replay):
    first_down: dict[str, float] = {}
    for t in replay.transitions:
        if t.state == "down" and t.component.startswith("api-check") and t.component not in first_down:
            first_down[t.component] = t.t_s
    assert len(first_down) == 60 and max(first_down.values()) < PUSH_S + 10  # every region within seconds
    loops = [t for t in replay.transitions if t.cause.mechanism == "crash_loop"]
    assert loops and all(t.t_s < DISABLED_S for t in loops)  # crash-looping until disabled
    ts = replay.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    assert np.nanmax(ok[(t >= PUSH_S + 30) & (t < DISABLED_S)]) < 0.01


def test_small_regions_back_in_one_start_up_the_largest_has_a_long_tail_from_its_herd(replay, jittered_tail_s):
    small = [all_healthy_after(replay, f"api-check-{z}-", DISABLED_S) for z in ("us-west", "europe", "asia")]
    assert all(s is not None and s < 60 for s in small)  # one start-up after the disable
    largest = all_healthy_after(replay, LARGEST, DISABLED_S)
    # counterfactual: randomized exponential backoff drains the herd within minutes
    assert jittered_tail_s is not None and jittered_tail_s < 300
    assert largest is None or largest > 3 * jittered_tail_s  # without it: a long tail
    # the tail is the herd on the region's database: failed start-ups name its overload
    by_id = {x.id: x for x in replay.transitions}
    blamed = [x for x in replay.transitions if x.t_s > DISABLED_S and x.cause.mechanism == "startup"
              and x.component.startswith(LARGEST) and x.state in ("starting", "down")]
    assert any(by_id[p].component == "policy-db-us-central" and by_id[p].state == "overloaded"
               for x in blamed for p in x.cause.parents)


def test_a_database_with_twice_the_connections_absorbs_the_herd(replay):
    # Why: a start-up query gives up after 5 s, so the herd is metastable once more tasks query at once than
    # the database finishes within that: pool x (1 + 5 s / 1 s) = 24 tasks on 4 connections, 48 on 8. The
    # 48 tasks tip 4 connections (long tail) and not 8 (back within one start-up and its queries).
    bigger = run(load_scenario(FILE, {"databases.policy-db-us-central.pool_size": 8,
                                      "run.duration_s": DISABLED_S + 300}))
    tail = all_healthy_after(bigger, LARGEST, DISABLED_S)
    assert tail is not None and tail < 60
    largest = all_healthy_after(replay, LARGEST, DISABLED_S)
    assert largest is None or largest > 5 * tail
