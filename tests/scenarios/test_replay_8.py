"""Card 8 (OpenAI 2024-12-11): control plane overwhelmed, DNS caches hide it for one TTL, then a cliff.

Shape, counterfactuals (a staging-sized cluster, static stability) and sensitivity (record TTL,
the callers' retries) of scenarios/incidents/openai-2024-12-11-control-plane-dns.yaml. Variants are
scenario overrides of the same file on the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import load_scenario
from tests.scenarios.replays import incident, replay_fixtures

FILE = incident("openai-2024-12-11-control-plane-dns.yaml")
DEPLOY_S = 720.0  # 15:12 PST
TTL_S = 1200.0
CAPACITY_OPS_S = 1000.0


def _replay(**changes) -> RunResult:
    if changes.get("run.duration_s", 10800.0) < 9300.0:
        changes = {"response.actions": [], **changes}  # a short variant ends before the operators act
    return run(load_scenario(FILE, changes))


def _first(res: RunResult, component: str, state: str, after_s: float = 0.0) -> float | None:
    return next((t.t_s for t in res.transitions if t.component == component and t.state == state
                 and t.cause.kind == "mechanism" and t.t_s > after_s), None)


scenario, replay = replay_fixtures(FILE)


CAPACITY_AT_S = 7440.0 + 1800.0  # the added API servers serve from 17:34
RETRIES = "discovery.control_plane.retry.max_attempts"
FEW_SERVERS = {"response.actions.add-api-servers.capacity_ops_s": 2000.0}


@pytest.fixture(scope="module")
def few_servers() -> dict[bool, RunResult]:
    """Only +2000 ops/s of API servers, with and without the callers' retries."""
    return {retries: _replay(**{**FEW_SERVERS, RETRIES: 5 if retries else 1}) for retries in (True, False)}


def test_control_plane_first_then_one_ttl_of_cached_dns_then_a_cliff_locked_out_until_api_servers_are_added(replay):
    degraded = _first(replay, "control-plane", "degraded")
    over = _first(replay, "control-plane", "overloaded")
    # the queue grows from the deploy; calls time out about 4 minutes later (published: 15:16)
    assert DEPLOY_S < degraded < over and 180 <= over - DEPLOY_S <= 300
    disc = next(t for t in replay.transitions if t.component == "discovery" and t.state == "down")
    over_id = next(t.id for t in replay.transitions if t.component == "control-plane" and t.state == "overloaded")
    assert disc.t_s == pytest.approx(over + TTL_S) and disc.cause.parents == (over_id,)  # one record TTL later
    ts = replay.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    assert np.nanmin(ok[t < disc.t_s - 60]) > 0.97  # DNS caches hide the failure
    assert np.nanmax(ok[(t >= disc.t_s + 60) & (t < CAPACITY_AT_S)]) < 0.01  # a cliff (clients' 30 s cache on top)
    # locked out: the rollback (15:36) waits for the control plane until the added API servers serve
    log = replay.summary["response"]["log"]
    waits = [e for e in log if e["event"] == "action waits"]
    assert waits and waits[0]["t_s"] == pytest.approx(2160) and "control plane" in waits[0]["text"]
    resumed = [e["t_s"] for e in log if e["event"] == "action step"]
    back = _first(replay, "control-plane", "degraded", after_s=over)
    assert resumed == [back] and back == pytest.approx(CAPACITY_AT_S, abs=2)
    assert [e["event"] for e in replay.fault_log] == ["start", "end"]  # the rollback removed the change
    # recovery: the data plane follows within a minute or two (published substantial recovery: 17:36)
    assert np.nanmin(ok[t >= back + 120]) > 0.97
    assert back + 120 <= 9360 + 300
    assert _first(replay, "control-plane", "healthy", after_s=back) is not None


def test_a_staging_sized_cluster_shows_nothing():
    staging = _replay(**{"pools.inference.replicas": 4, "run.duration_s": 2400.0})  # +0.6 x 16 ops/s
    assert _first(staging, "control-plane", "overloaded") is None
    assert staging.summary["measured"]["availability"] > 0.99


def test_static_stability_keeps_the_data_plane_serving_through_the_control_plane_outage():
    stable = _replay(**{"discovery.static_stability": True, "run.duration_s": 3600.0})
    assert _first(stable, "control-plane", "overloaded") is not None
    assert stable.summary["measured"]["availability"] > 0.99


def test_the_record_ttl_moves_the_delay_one_for_one(replay):
    short = _replay(**{"discovery.control_plane.record_ttl_s": 600.0, "run.duration_s": 2400.0})
    over, over_short = _first(replay, "control-plane", "overloaded"), _first(short, "control-plane", "overloaded")
    assert over_short == over  # the control plane does not care about the TTL
    gap = _first(replay, "discovery", "down") - over
    gap_short = _first(short, "discovery", "down") - over_short
    assert gap - gap_short == pytest.approx(600.0)


def test_with_the_retries_a_few_more_api_servers_do_not_end_the_lock_out_without_them_they_do(few_servers):
    with_retries, without = few_servers[True], few_servers[False]
    # same trigger, same overload time: before the first timeout no call has failed, so nothing is retried
    assert _first(with_retries, "control-plane", "overloaded") == _first(without, "control-plane", "overloaded")
    # under total failure 5 attempts per call make up to 5 x 1260 ops/s: 3000 is not enough, still locked out
    assert _first(with_retries, "control-plane", "degraded", after_s=CAPACITY_AT_S - 1) is None
    assert not [e for e in with_retries.summary["response"]["log"] if e["event"] == "action step"]
    assert with_retries.summary["components"]["control-plane"]["peak_load_ops_s"] > 4 * 1260
    # without retries 3000 ops/s drain the full queue (300 s x 1000 ops) below 60 s of work at 3000 - 1260 ops/s
    back = _first(without, "control-plane", "degraded", after_s=CAPACITY_AT_S - 1)
    predicted = (300 * CAPACITY_OPS_S - 60 * 3000) / (3000 - 1260)
    assert back - CAPACITY_AT_S == pytest.approx(predicted, abs=3)
    ts = without.timeseries
    assert np.nanmin(ts["success_ratio"][ts["t_s"] >= back + 120]) > 0.97  # the rollback ran, the data plane follows
    assert np.nanmax(with_retries.timeseries["success_ratio"][ts["t_s"] >= back + 120]) < 0.01
