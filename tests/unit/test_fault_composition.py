"""Faults compose: a component held down (or hung) by one fault is not brought back by another one ending.

Each component keeps the set of faults holding it down; it comes back only when the last one lets go,
and a second fault hitting a component that is already down is still recorded (a root of the cascade).
"""

from __future__ import annotations

import pytest

from tests.helpers import merge
from tests.unit.test_faults import CACHE, DB, go, rows, states

LONG = {"run": {"duration_s": 120, "seed": 3}}


def _serving_between(res, comp: str, t0: float, t1: float) -> list[tuple[float, str]]:
    return [(t, s) for t, s, _ in states(res, comp) if t0 < t < t1 and s in ("starting", "healthy")]


def test_zone_outage_crash_and_gpu_loss_keep_servers_down_while_any_holds_them():
    faults = [
        {"id": "zone", "kind": "zone_outage", "zone": "a", "at_s": 20, "duration_s": 80},
        {"id": "boom", "kind": "crash", "target": {"name": "p-0"}, "at_s": 30, "duration_s": 20, "restart": False},
        {"id": "gpu", "kind": "gpu_lost", "target": {"name": "p-2"}, "at_s": 32, "replace_s": 10},
    ]
    res = go(faults, **LONG)
    for comp in ("p-0", "p-2"):  # zone a: down from 20 to 100, whatever else happens to them
        assert _serving_between(res, comp, 20, 100) == []
        back = [(round(t, 6), s) for t, s, _ in states(res, comp) if t >= 100][:2]
        assert back == [(100, "starting"), (103, "healthy")]
    # the second fault on an already-down replica is recorded, naming it (a cascade root)
    mark0 = [t for t in res.transitions if t.component == "p-0" and t.cause.source == "boom"]
    mark2 = [t for t in res.transitions if t.component == "p-2" and t.cause.source == "gpu"]
    assert [(t.t_s, t.state) for t in mark0] == [(30, "down")]
    assert [(t.t_s, t.state) for t in mark2] == [(32, "down")]
    zone_b = [t for t in res.transitions if t.component in ("p-1", "p-3") and t.state == "down"]
    assert zone_b == []


def test_a_crash_with_restart_inside_a_zone_outage_waits_for_the_zone():
    faults = [
        {"id": "zone", "kind": "zone_outage", "zone": "b", "at_s": 10, "duration_s": 30},
        {"id": "boom", "kind": "crash", "target": {"name": "p-1"}, "at_s": 5, "restart_delay_s": 10},
    ]
    res = go(faults)
    # crashed at 5, restart due at 15, but zone b is out from 10 to 40
    assert _serving_between(res, "p-1", 10, 40) == []
    assert [(round(t, 6), s) for t, s, _ in states(res, "p-1") if t >= 40][:2] == [(40, "starting"),
                                                                                    (43, "healthy")]


def test_a_replaced_gpu_waits_for_a_crash_that_still_holds_the_replica():
    faults = [
        {"id": "boom", "kind": "crash", "target": {"name": "p-2"}, "at_s": 5, "duration_s": 30, "restart": False},
        {"id": "gpu", "kind": "gpu_lost", "target": {"name": "p-2"}, "at_s": 10, "replace_s": 5},
    ]
    res = go(faults)
    assert _serving_between(res, "p-2", 5, 35) == []
    assert [(round(t, 6), s) for t, s, _ in states(res, "p-2") if t >= 35][:1] == [(35, "starting")]


ZONE_B_DB = merge(DB, {"topology": {"databases": [merge(DB["topology"]["databases"][0], {"zone": "b"})]}})
ZONE_B_CACHE = merge(CACHE, {"topology": {"caches": [merge(CACHE["topology"]["caches"][0], {"zone": "b"})]}})


@pytest.mark.parametrize("comp, fault, over", [
    ("db", {"kind": "database_down", "target": {"name": "db"}}, ZONE_B_DB),
    ("kv", {"kind": "cache_down", "target": {"name": "kv"}}, ZONE_B_CACHE),
])
def test_a_dependency_stays_down_while_its_own_fault_holds_it_after_the_zone_returns(comp, fault, over):
    faults = [{"id": "dep", "at_s": 10, "duration_s": 40, **fault},
              {"id": "zone", "kind": "zone_outage", "zone": "b", "at_s": 20, "duration_s": 10}]
    res = go(faults, **over)
    seq = [(round(t, 6), s, t_cause) for t, s, t_cause in states(res, comp)]
    assert [(t, s) for t, s, _ in seq] == [(0, "healthy"), (10, "down"), (20, "down"), (50, "healthy")]
    assert [t.cause.source for t in res.transitions if t.component == comp][1:] == ["dep", "zone", "dep"]


def test_a_load_balancer_deleted_by_a_cleanup_job_stays_down_after_its_zone_returns():
    faults = [{"id": "clean", "kind": "cleanup_job", "target": {"name": "lb"}, "at_s": 10, "recreate_s": 30},
              {"id": "zone", "kind": "zone_outage", "zone": "a", "at_s": 15, "duration_s": 10}]
    res = go(faults)
    assert [(round(t, 6), s) for t, s, _ in states(res, "lb") if s in ("down", "healthy")][-1] == (40, "healthy")
    assert not [t for t, s, _ in states(res, "lb") if 10 < t < 40 and s != "down"]
    r = rows(res, 26, 39)
    assert len(r["outcome"]) and all(r["outcome"] == "network_error")


def test_a_hang_outlives_the_rollback_of_a_bad_config_with_a_hang_bug():
    faults = [{"id": "hang", "kind": "hang", "target": {"name": "p-0"}, "at_s": 10, "duration_s": 40},
              {"id": "cfg", "kind": "config_push", "target": {"name": "p-0"}, "at_s": 15, "duration_s": 10,
               "propagation_s": 1, "bug": {"kind": "hang"}}]
    res = go(faults)
    r = rows(res, 26, 44)
    on_p0 = r["server"] == "p-0"
    assert on_p0.any() and all(r["outcome"][on_p0] == "timeout")
    r = rows(res, 51, 60)
    assert all(r["outcome"][r["server"] == "p-0"] == "success")


def test_a_load_balancer_held_down_stays_down_while_its_health_checks_eject_replicas():
    over = {"policies": {"health_check": {"enabled": True, "period_s": 2, "failure_threshold": 1}}}
    res = go([{"id": "zone", "kind": "zone_outage", "zone": "a", "at_s": 10, "duration_s": 20}], **over)
    during = [s for t, s, _ in states(res, "lb") if 10 <= t < 30]
    assert during and set(during) == {"down"}
    assert states(res, "lb")[-1][1] == "healthy"
