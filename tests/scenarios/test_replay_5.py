"""Card 5, OpenAI 2024-08-16: a 2-minute data-plane blip becomes a long outage through the restart herd
on a shared persistence store (scenarios/incidents/openai-2024-08-16-restart-herd.yaml).

Compared on the same seed with one change each (sim.spec.loader.with_changes): jittered exponential
backoff on the start-ups, no start-up queries, and the store's capacity. The sensitivity follows the
bound the mechanism gives: a start-up query that waits behind a full queue waits queue_capacity /
pool_size x query time; above the services' query timeout it is given up on while the store still
runs it (wasted work, the herd sustains itself), below it every query is answered in time.
"""

from __future__ import annotations

import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import all_healthy_after, incident, replay_fixtures

REPLAY = incident("openai-2024-08-16-restart-herd.yaml")
BLIP_S, BLIP_END_S = 480.0, 600.0
RETRY = "pools.services.startup.retry"


scenario, herd = replay_fixtures(REPLAY, {"run.duration_s": 3300.0}, name="herd")


def _outage_end_s(result: RunResult, after_s: float) -> float:
    """End of the last bucket after ``after_s`` where fewer than half the requests succeeded."""
    ts = result.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    bad = t[(t >= after_s) & (ok < 0.5)]
    return float(bad.max() + result.scenario.run.bucket_s) if bad.size else after_s


def _queue_wait_bound_s(scenario: Scenario, **db) -> float:
    store = scenario.topology.databases[0].model_copy(update=db)
    return store.queue_capacity / store.pool_size * store.service_time_s.mean


def test_a_short_data_plane_blip_becomes_a_long_outage_through_the_restart_herd(scenario, herd):
    jittered = run(with_changes(scenario, {"run.duration_s": 1200.0, f"{RETRY}.backoff_cap_s": 60.0,
                                           f"{RETRY}.multiplier": 2.0, f"{RETRY}.jitter": "full"}))
    pool = scenario.topology.pools[0]
    control = run(with_changes(scenario, {"run.duration_s": 900.0, "pools.services.startup": None}))
    # without start-up queries the services are back one start-up after the network (5 s model load)
    assert all_healthy_after(control, "services-", BLIP_END_S - 1) == 1 + pool.server.model_load_s
    assert _outage_end_s(control, BLIP_S) <= BLIP_END_S + 60
    # with jittered exponential backoff on the start-ups the store drains within minutes
    jitter_end = _outage_end_s(jittered, BLIP_S)
    assert jitter_end <= BLIP_END_S + 300
    # without it the herd keeps the store saturated: the outage outlasts the 2-minute blip many times over
    herd_end = _outage_end_s(herd, BLIP_S)
    assert herd_end - BLIP_S > 3 * (jitter_end - BLIP_S)
    by_id = {x.id: x for x in herd.transitions}
    failed = [x for x in herd.transitions if x.cause.mechanism == "startup" and x.state in ("starting", "down")]
    assert any(by_id[p].component == "persistence" and by_id[p].state == "overloaded"
               for x in failed for p in x.cause.parents)


def test_the_order_of_phases_network_out_services_down_store_saturated_then_back(herd):
    """Who fails first: the data plane (the fault), then the services, then the store under their herd."""
    first = {}
    for t in herd.transitions:
        if t.t_s >= BLIP_S and t.state in ("down", "overloaded") and t.component not in first:
            first[t.component] = (t.t_s, t.state)
    services = [v[0] for c, v in first.items() if c.startswith("services-")]
    assert services and min(services) == BLIP_S
    assert first["persistence"][1] == "overloaded" and first["persistence"][0] >= BLIP_END_S
    assert _outage_end_s(herd, BLIP_S) < herd.scenario.run.duration_s  # it does recover, within the run


@pytest.mark.parametrize("store", [{"pool_size": 8}, {"queue_capacity": 16}], ids=["more-connections", "shorter-queue"])
def test_sensitivity_a_store_whose_queue_wait_stays_under_the_query_timeout_absorbs_the_herd(scenario, herd, store):
    timeout_s = scenario.topology.pools[0].startup.query_timeout_s
    assert _queue_wait_bound_s(scenario) > timeout_s > _queue_wait_bound_s(scenario, **store)
    changes = {"run.duration_s": 1200.0, **{f"databases.persistence.{k}": v for k, v in store.items()}}
    absorbed = run(with_changes(scenario, changes))
    assert _outage_end_s(absorbed, BLIP_S) <= BLIP_END_S + 120
    assert _outage_end_s(herd, BLIP_S) - BLIP_S > 5 * (_outage_end_s(absorbed, BLIP_S) - BLIP_S)
