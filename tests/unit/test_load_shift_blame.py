"""Blame for an overload: "load shifted from" names only peers whose load really moved (down, starting or
ejected by a load balancer), never peers that are merely overloaded themselves, and links the ejection."""

from __future__ import annotations

from tests.helpers import merge
from tests.unit.test_faults import BASE, go

OVER = {
    "topology": {"pools": [merge(BASE["topology"]["pools"][0], {"server": {"queue_capacity": 20}})]},
    "workload": {"clients": [merge(BASE["workload"]["clients"][0], {"arrival": {"rate_rps": 36.0}})]},
    "policies": {"health_check": {"enabled": True, "period_s": 2, "failure_threshold": 1}},
}


def test_overload_blames_the_crashed_peer_and_its_ejection_not_overloaded_peers():
    res = go([{"id": "boom", "kind": "crash", "target": {"name": "p-2"}, "at_s": 10, "restart": False}], **OVER)
    down = next(t for t in res.transitions if t.component == "p-2" and t.state == "down")
    eject = next(t for t in res.transitions if t.component == "lb" and "ejected p-2" in t.cause.detail)
    overloads = [t for t in res.transitions if t.state == "overloaded" and t.t_s > 10]
    assert len(overloads) >= 2, "the survivors (120 % utilization) overload one after another"
    for t in overloads:
        assert down.id in t.cause.parents
        assert set(t.cause.parents) <= {down.id, eject.id}
        assert t.cause.detail.endswith("load shifted from p-2")
    assert any(eject.id in t.cause.parents for t in overloads if t.t_s > eject.t_s)
