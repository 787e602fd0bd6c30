"""One test per fault kind: its direct effect on a small scenario, and nothing it does not do.

Most tests compare a run with the fault against the same seed without it, or check a figure that
follows from the fault's parameters (a delay, a time, a share).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim import parse_scenario, run
from sim.faults import FAULTS
from sim.spec.faults import FAULT_MODELS
from tests.helpers import merge, run_live

BASE: dict[str, Any] = {
    "name": "faults",
    "topology": {
        "zones": ["a", "b"],
        "network": {"same_zone_latency_ms": 0.0, "cross_zone_latency_ms": 1.0},
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
        "pools": [{"name": "p", "replicas": 4, "zones": ["a", "b"],
                   "server": {"mode": "plain", "concurrency": 1, "model_load_s": 3.0,
                              "service_time_s": {"kind": "deterministic", "value": 0.1}}}],
    },
    "workload": {"clients": [{"name": "c", "zone": "a", "target": ["lb"], "timeout_s": 5.0,
                              "retry": {"max_attempts": 1}, "arrival": {"kind": "poisson", "rate_rps": 10.0}}]},
    "policies": {"health_check": {"enabled": False}},
    "run": {"duration_s": 60, "seed": 3},
}


def scenario(faults: list[dict] | None = None, **over: Any):
    return parse_scenario(merge(BASE, {**over, "faults": faults or []}))


def go(faults: list[dict] | None = None, **over: Any):
    return run_live(scenario(faults, **over), record_requests=True)


def states(res, comp: str) -> list[tuple[float, str, str]]:
    return [(t.t_s, t.state, t.cause.mechanism) for t in res.transitions if t.component == comp]


def rows(res, t0: float = 0.0, t1: float = math.inf, client: str | None = None) -> dict[str, np.ndarray]:
    """Per-request records of requests that arrived in [t0, t1)."""
    r = res.requests
    keep = (r["arrival_s"] >= t0) & (r["arrival_s"] < t1)
    if client is not None:
        keep &= r["client"] == client
    return {k: v[keep] for k, v in r.items()}


def share(res, outcome: str, t0: float = 0.0, t1: float = math.inf) -> float:
    r = rows(res, t0, t1)
    return float(np.mean(r["outcome"] == outcome)) if len(r["outcome"]) else 0.0


def test_every_kind_has_a_model_and_an_implementation():
    assert sorted(FAULT_MODELS) == FAULTS.names()


# --- crash and GPU ---------------------------------------------------------------------------------
def test_crash_goes_down_and_back_after_restart_delay_plus_model_load():
    res = go([{"id": "boom", "kind": "crash", "target": {"name": "p-1"}, "at_s": 10, "restart_delay_s": 4}])
    tr = states(res, "p-1")
    assert [(round(t, 6), s) for t, s, _ in tr[1:4]] == [(10, "down"), (14, "starting"), (17, "healthy")]
    assert [(e["t_s"], e["event"]) for e in res.fault_log] == [(10, "start"), (10, "end")]
    served = rows(res, 10.5, 13.5)
    assert not np.any((served["server"] == "p-1") & (served["outcome"] == "success"))


def test_crash_without_restart_stays_down_for_the_window():
    res = go([{"id": "boom", "kind": "crash", "target": {"name": "p-1"}, "at_s": 10, "duration_s": 20,
               "restart": False}])
    tr = states(res, "p-1")
    assert [(round(t, 6), s) for t, s, _ in tr[1:4]] == [(10, "down"), (30, "starting"), (33, "healthy")]


@pytest.mark.parametrize("kind", ["gpu_lost", "ecc_error", "tp_link_failure"])
def test_replica_loss_until_replaced(kind):
    res = go([{"id": "hw", "kind": kind, "target": {"name": "p-2"}, "at_s": 5, "replace_s": 20}])
    tr = states(res, "p-2")
    assert [(round(t, 6), s) for t, s, _ in tr[1:4]] == [(5, "down"), (25, "starting"), (28, "healthy")]
    down = next(t for t in res.transitions if t.component == "p-2" and t.state == "down")
    assert down.cause.kind == "fault" and down.cause.source == "hw"
    starting = next(t for t in res.transitions if t.component == "p-2" and t.state == "starting")
    assert "replaced" in starting.cause.detail and down.id in starting.cause.parents
    res2 = go([{"id": "hw", "kind": kind, "target": {"name": "p-2"}, "at_s": 5, "duration_s": 10}])
    assert [(round(t, 6), s) for t, s, _ in states(res2, "p-2")[1:3]] == [(5, "down"), (15, "starting")]


def test_thermal_throttle_multiplies_service_time():
    over = {"workload": {"clients": [merge(BASE["workload"]["clients"][0], {"arrival": {"rate_rps": 1.0}})]}}
    res = go([{"id": "hot", "kind": "thermal_throttle", "target": {"pool": "p"}, "at_s": 20, "duration_s": 20,
               "slow_factor": 2.0}], **over)
    before, during = rows(res, 0, 19), rows(res, 21, 39)
    ok_b, ok_d = before["outcome"] == "success", during["outcome"] == "success"
    # no queueing at 1 rps on 4 replicas of 0.1 s: latency is the service time plus the network
    assert np.median(during["latency_s"][ok_d]) - np.median(before["latency_s"][ok_b]) == pytest.approx(0.1, abs=0.01)
    marks = [t for t in res.transitions if t.cause.source == "hot"]
    assert len(marks) == 4 and all(t.state == "healthy" for t in marks)


def test_kv_cache_exhaustion_shrinks_the_cache_and_forces_preemptions():
    llm = {"mode": "llm", "max_batch_size": 16, "kv_cache_tokens": 20_000, "model_load_s": 1.0}
    over = {
        "topology": {"pools": [{"name": "p", "replicas": 1, "zones": ["a"], "server": llm}]},
        "workload": {"clients": [merge(BASE["workload"]["clients"][0], {
            "timeout_s": 30.0, "arrival": {"rate_rps": 3.0},
            "prompt_tokens": {"kind": "deterministic", "value": 500},
            "output_tokens": {"kind": "deterministic", "value": 300}})]},
    }
    fault = [{"id": "kv", "kind": "kv_cache_exhaustion", "target": {"pool": "p"}, "at_s": 10, "duration_s": 30,
              "kv_cache_fraction": 0.1}]
    base, hit = go(None, **over), go(fault, **over)
    assert hit.components["p-0"].kv_capacity == 20_000  # restored at the end
    assert hit.summary["components"]["p-0"]["preemptions"] > base.summary["components"]["p-0"]["preemptions"]
    lat_b = np.mean(rows(base, 12, 38)["latency_s"])
    lat_h = np.mean(rows(hit, 12, 38)["latency_s"])
    assert lat_h > lat_b


def test_kv_cache_exhaustion_rejects_plain_pools():
    with pytest.raises(Exception, match=r"faults\[0\]\.target: matches no server of an llm pool"):
        scenario([{"id": "kv", "kind": "kv_cache_exhaustion", "target": {"pool": "p"}, "at_s": 1}])


# --- software bugs ---------------------------------------------------------------------------------
def test_error_rate_fails_that_share_inside_the_window_only():
    res = go([{"id": "bug", "kind": "error_rate", "target": {"pool": "p"}, "at_s": 20, "duration_s": 20,
               "error_percent": 30}])
    n = len(rows(res, 20.2, 39.8)["outcome"])
    p = share(res, "server_error", 20.2, 39.8)
    assert abs(p - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
    assert share(res, "server_error", 0, 19.8) == 0 and share(res, "server_error", 40.2) == 0


def test_latency_inflation_ramps_up():
    over = {"workload": {"clients": [merge(BASE["workload"]["clients"][0], {"arrival": {"rate_rps": 2.0}})]}}
    res = go([{"id": "slow", "kind": "latency_inflation", "target": {"pool": "p"}, "at_s": 10, "duration_s": 40,
               "slow_factor": 5.0, "ramp_s": 20}], **over)
    early = np.median(rows(res, 10, 14)["latency_s"])
    late = np.median(rows(res, 31, 49)["latency_s"])
    before = np.median(rows(res, 0, 9)["latency_s"])
    assert before < early < late
    assert late - before == pytest.approx(0.4, abs=0.05)  # 0.1 s x (5 - 1)


def test_hang_ends_only_in_timeouts_and_health_checks_eject_it():
    over = {"policies": {"health_check": {"enabled": True, "period_s": 2, "failure_threshold": 2}}}
    res = go([{"id": "hang", "kind": "hang", "target": {"name": "p-0"}, "at_s": 10, "duration_s": 30}], **over)
    on_p0 = rows(res, 10, 13)
    hung = on_p0["server"] == "p-0"
    assert hung.any() and np.all(on_p0["outcome"][hung] == "timeout")
    eject = next(t for t in res.transitions if t.component == "lb" and "ejected p-0" in t.cause.detail)
    mark = next(t for t in res.transitions if t.component == "p-0" and t.cause.source == "hang")
    assert mark.id in eject.cause.parents and 10 < eject.t_s <= 16


def test_poison_request_crashes_the_server_that_receives_it():
    res = go([{"id": "poison", "kind": "poison_request", "target": {"pool": "p"}, "at_s": 10, "duration_s": 20,
               "poison_percent": 2, "restart_delay_s": 2}])
    crashes = [t for t in res.transitions if t.state == "down"]
    assert crashes and all(t.cause.mechanism == "poison_request" and 10 <= t.t_s <= 30 for t in crashes)
    marks = {t.component: t.id for t in res.transitions if t.cause.source == "poison"}
    assert all(t.cause.parents == (marks[t.component],) for t in crashes)
    control = go([{"id": "poison", "kind": "poison_request", "target": {"name": "p-0"}, "at_s": 10,
                   "duration_s": 20, "poison_percent": 2}])
    assert {t.component for t in control.transitions if t.state == "down"} <= {"p-0"}


def test_memory_leak_over_time_ooms_at_the_predicted_moment_and_again_after_restart():
    res = go([{"id": "leak", "kind": "memory_leak", "target": {"name": "p-1"}, "at_s": 5,
               "memory_limit_mb": 1000, "baseline_mb": 800, "leak_mb_per_request": 0, "leak_mb_per_s": 20,
               "restart_delay_s": 2}])
    ooms = [t for t in res.transitions if t.component == "p-1" and t.cause.mechanism == "oom"]
    mark = next(t for t in res.transitions if t.component == "p-1" and t.cause.source == "leak")
    assert ooms[0].t_s == pytest.approx(5 + 200 / 20, abs=1e-6)
    # restart 2 s + model load 3 s, then the leak starts again from the baseline
    assert ooms[1].t_s == pytest.approx(ooms[0].t_s + 2 + 3 + 10, abs=1e-6)
    assert all(t.cause.parents == (mark.id,) for t in ooms)


def test_memory_leak_per_request_kills_after_the_predicted_number_of_requests():
    res = go([{"id": "leak", "kind": "memory_leak", "target": {"name": "p-0"}, "at_s": 5,
               "memory_limit_mb": 1000, "baseline_mb": 950, "leak_mb_per_request": 5, "restart_delay_s": 2}])
    first = next(t for t in res.transitions if t.component == "p-0" and t.cause.mechanism == "oom")
    r = rows(res)
    handled = np.sum((r["server"] == "p-0") & (r["arrival_s"] >= 5) & (r["arrival_s"] <= first.t_s))
    assert handled == 11  # 10 requests reach 1000 MB, the 11th crosses the limit


def test_wrong_answers_are_served_and_invisible_to_health_checks():
    over = {"policies": {"health_check": {"enabled": True, "period_s": 2}}}
    res = go([{"id": "wrong", "kind": "wrong_answer", "target": {"pool": "p"}, "at_s": 10, "duration_s": 40,
               "wrong_percent": 20}], **over)
    n = len(rows(res, 10.2, 49.8)["outcome"])
    p = share(res, "wrong_answer", 10.2, 49.8)
    assert abs(p - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n)
    assert not [t for t in res.transitions if t.component == "lb" and "ejected" in t.cause.detail]
    assert res.summary["measured"]["served_ratio"] == pytest.approx(1.0)


# --- network ----------------------------------------------------------------------------------------
def test_network_latency_adds_its_delay_on_both_ways_of_each_impaired_hop():
    fault = [{"id": "lag", "kind": "network_latency", "zones": ["b"], "at_s": 0, "added_latency_ms": 40}]
    over = {"workload": {"clients": [merge(BASE["workload"]["clients"][0], {"arrival": {"rate_rps": 1.0}})]}}
    base, hit = go(None, **over), go(fault, **over)
    zb = rows(hit)["server"] == "p-1"
    za = rows(hit)["server"] == "p-0"
    assert np.median(rows(hit)["latency_s"][zb]) - np.median(rows(base)["latency_s"][rows(base)["server"] == "p-1"]) \
        == pytest.approx(0.08, abs=1e-6)
    assert np.median(rows(hit)["latency_s"][za]) == pytest.approx(0.1, abs=1e-6)


def test_packet_loss_past_the_threshold_fails_connections():
    res = go([{"id": "loss", "kind": "packet_loss", "zones": ["a", "b"], "at_s": 10, "duration_s": 20,
               "loss_percent": 60, "fail_percent": 50}])
    r = rows(res, 10, 29)
    ok = r["outcome"] == "success"
    assert set(r["server"][ok]) == {"p-0", "p-2"}  # round robin: every other attempt crosses to zone b
    assert np.all(r["outcome"][~ok] == "network_error") and np.mean(~ok) == pytest.approx(0.5, abs=0.02)
    assert share(res, "network_error", 30.1) == 0


def test_packet_loss_below_the_threshold_delays_by_retransmissions():
    p, rto, kmax = 0.2, 0.2, 5
    mean_k_delay = sum(p**k * (1 - p) * rto * (2**k - 1) for k in range(kmax)) + p**kmax * rto * (2**kmax - 1)
    over = {"run": {"duration_s": 200}}
    fault = [{"id": "loss", "kind": "packet_loss", "zones": ["a", "b"], "at_s": 0, "loss_percent": 100 * p,
              "rto_s": rto, "max_retransmits": kmax}]
    base, hit = go(None, **over), go(fault, **over)
    rb, rh = rows(base), rows(hit)
    across_b = rb["server"] == "p-1"
    across_h = (rh["server"] == "p-1") & (rh["outcome"] == "success")
    extra = np.mean(rh["latency_s"][across_h]) - np.mean(rb["latency_s"][across_b])
    # the delay is paid on the way there and again on the way back (the hop's latency is the path's)
    assert extra == pytest.approx(2 * mean_k_delay, rel=0.25)


def test_partition_between_zones_fails_requests_across_with_network_error():
    res = go([{"id": "cut", "kind": "partition", "between": ["a", "b"], "at_s": 10, "duration_s": 20}])
    r = rows(res, 10, 30)
    ok = r["outcome"] == "success"
    assert set(r["server"][ok]) == {"p-0", "p-2"}
    assert np.all(r["outcome"][~ok] == "network_error") and np.mean(~ok) == pytest.approx(0.5, abs=0.02)
    assert share(res, "network_error", 30.1) == 0


def test_partition_between_two_components():
    res = go([{"id": "cut", "kind": "partition", "between": ["lb", "p-2"], "at_s": 10, "duration_s": 20}])
    r = rows(res, 10, 30)
    ok = r["outcome"] == "success"
    assert set(r["server"][ok]) == {"p-0", "p-1", "p-3"}
    assert np.all(r["outcome"][~ok] == "network_error") and np.mean(~ok) == pytest.approx(0.25, abs=0.02)


def test_dns_failure_starts_failing_only_after_the_ttl():
    over = {"topology": {"discovery": {"ttl_s": 15}}}
    res = go([{"id": "dns", "kind": "dns_failure", "target": {"name": "discovery"}, "at_s": 20,
               "duration_s": 20}], **over)
    r = rows(res)
    failed = r["arrival_s"][r["outcome"] == "network_error"]
    assert failed.size and failed.min() > 20
    # the record cached before 20 s expires at most one TTL later: from then on every request fails
    first = failed.min()
    assert first <= 20 + 15
    assert np.all(rows(res, first, 40)["outcome"] == "network_error")
    assert share(res, "network_error", 40.01) == 0
    disc = states(res, "discovery")
    assert [s for _, s, _ in disc] == ["healthy", "down", "healthy"]


# --- maintenance ------------------------------------------------------------------------------------
def test_bad_deploy_rolls_batches_and_the_bug_reaches_every_replica():
    res = go([{"id": "deploy", "kind": "bad_deploy", "target": {"pool": "p"}, "at_s": 5, "duration_s": 50,
               "bug": {"kind": "error_rate", "error_percent": 100}, "max_unavailable": 1, "batch_interval_s": 2,
               "restart_delay_s": 1}])
    downs = sorted((t.t_s, t.component) for t in res.transitions if t.state == "down")
    assert [c for _, c in downs] == ["p-0", "p-1", "p-2", "p-3"]
    gaps = np.diff([t for t, _ in downs])
    assert np.all(gaps >= 1 + 3 + 2 - 1e-9) and np.all(gaps <= 1 + 3 + 2 + 5 + 1e-9)
    last_ready = downs[-1][0] + 4
    assert share(res, "server_error", last_ready + 0.5, 54.5) == 1.0
    assert share(res, "server_error", 55.5) == 0  # rolled back at the window's end


def test_bad_deploy_with_surge_keeps_capacity_and_a_crash_loop_stalls_the_rollout():
    res = go([{"id": "deploy", "kind": "bad_deploy", "target": {"pool": "p"}, "at_s": 5, "duration_s": 50,
               "bug": {"kind": "crash_loop", "restart_delay_s": 1}, "max_unavailable": 1, "max_surge": 1,
               "batch_interval_s": 2, "restart_delay_s": 1}])
    downs = {t.component for t in res.transitions if t.state == "down"}
    assert downs == {"p-1"}  # p-0 was the surge replica (never switched), p-1 crash-loops, the rest never start
    loops = [t for t in res.transitions if t.component == "p-1" and t.cause.mechanism == "crash_loop"]
    assert len(loops) >= 5


def test_drain_takes_the_targets_out_and_they_come_back_at_the_end():
    over = {"policies": {"health_check": {"enabled": True, "period_s": 2, "failure_threshold": 1}}}
    res = go([{"id": "drain", "kind": "drain", "target": {"pool": "p", "count": 3}, "at_s": 10,
               "duration_s": 20}], **over)
    drained = {t.component for t in res.transitions if t.state == "draining"}
    assert len(drained) == 3
    for comp in drained:
        seq = [s for _, s, _ in states(res, comp)]
        assert seq[:5] == ["healthy", "draining", "down", "starting", "healthy"]
    survivor = ({"p-0", "p-1", "p-2", "p-3"} - drained).pop()
    r = rows(res, 15, 30)
    assert np.all(r["server"][r["outcome"] == "success"] == survivor)


def test_config_push_reaches_targets_over_the_propagation_time_and_crash_loops_them():
    res = go([{"id": "cfg", "kind": "config_push", "target": {"pool": "p"}, "at_s": 10, "duration_s": 30,
               "propagation_s": 4, "bug": {"kind": "crash_loop", "restart_delay_s": 1}}])
    first = {}
    for t in res.transitions:
        if t.state == "down" and t.component not in first:
            first[t.component] = t
    assert sorted(round(t.t_s, 6) for t in first.values()) == [10, 11, 12, 13]
    assert all(t.cause.kind == "fault" for t in first.values())
    loops = [t for t in res.transitions if t.cause.mechanism == "crash_loop"]
    assert loops and all(t.t_s < 40 for t in loops)
    assert all(res.components[f"p-{i}"].state == "healthy" for i in range(4))


def test_os_update_cuts_nodes_and_reimaging_brings_them_back_at_its_rate():
    res = go([{"id": "os", "kind": "os_update", "target": {"pool": "p", "percent": 50}, "at_s": 5,
               "reimage_after_s": 10, "reimage_per_hour": 360}])
    downs = [t for t in res.transitions if t.state == "down"]
    assert len(downs) == 2 and all(t.t_s == 5 for t in downs)
    starts = sorted(t.t_s for t in res.transitions if t.state == "starting")
    assert starts == pytest.approx([5 + 10 + 10, 5 + 10 + 20])


def _control_plane(capacity: float) -> dict:
    return {"topology": {"discovery": {"ttl_s": 10, "control_plane": {
        "capacity_ops_s": capacity, "base_ops_s": 10, "ops_per_node_s": 1, "record_ttl_s": 5,
        "call_timeout_s": 1, "queue_limit_s": 5, "degraded_latency_s": 1}}}}


def test_fleet_change_quadratic_cost_overloads_the_control_plane_and_discovery_follows():
    fault = {"id": "change", "kind": "fleet_change", "target": {"pool": "p"}, "at_s": 10, "duration_s": 20,
             "ops_per_node_s": 40}
    res = go([fault], **_control_plane(500))  # 10 + 4 + 40 x 4 x 4 = 654 > 500
    cp = [t for t in res.transitions if t.component == "control-plane"]
    over = next(t for t in cp if t.state == "overloaded")
    mark = next(t for t in cp if t.cause.source == "change")
    # the queue grows at 654 - 500 ops/s; calls time out once it holds 1 s of work (500 ops), one step late
    assert over.cause.parents == (mark.id,) and 10 + 500 / 154 < over.t_s <= 10 + 500 / 154 + 2
    disc_down = next(t for t in res.transitions if t.component == "discovery" and t.state == "down")
    assert disc_down.cause.parents == (over.id,) and disc_down.t_s == pytest.approx(over.t_s + 5)  # record TTL
    assert [s for _, s, _ in states(res, "control-plane")][-1] == "healthy"  # the queue drained after the change
    linear = go([{**fault, "cost": "linear"}], **_control_plane(500))  # 10 + 4 + 160 < 500
    assert not [t for t in linear.transitions if t.component == "control-plane" and t.state == "overloaded"]


# --- dependencies -------------------------------------------------------------------------------------
DB = {"topology": {"databases": [{"name": "db", "zone": "a", "pool_size": 50, "connect_timeout_s": 2.0,
                                  "service_time_s": {"kind": "deterministic", "value": 0.05}}],
                   "pools": [merge(BASE["topology"]["pools"][0], {"database": "db"})]}}


def test_database_slow_multiplies_query_time():
    over = merge(DB, {"workload": {"clients": [merge(BASE["workload"]["clients"][0],
                                                      {"arrival": {"rate_rps": 1.0}})]}})
    res = go([{"id": "slowdb", "kind": "database_slow", "target": {"name": "db"}, "at_s": 20, "duration_s": 20,
               "slow_factor": 4}], **over)
    r0, r1 = rows(res, 0, 19, "c"), rows(res, 21, 39, "c")
    same = r0["server"] == "p-0"
    same1 = r1["server"] == "p-0"
    assert np.median(r1["latency_s"][same1]) - np.median(r0["latency_s"][same]) == pytest.approx(0.15, abs=1e-6)


def test_database_down_fails_after_the_connect_timeout():
    res = go([{"id": "dbdown", "kind": "database_down", "target": {"name": "db"}, "at_s": 20, "duration_s": 10}],
             **DB)
    r = rows(res, 20, 29.9)
    assert np.all(r["outcome"] == "dependency_error")
    assert np.min(r["latency_s"]) >= 2.0
    assert [s for _, s, _ in states(res, "db")] == ["healthy", "down", "healthy"]


def test_database_failover_stays_down_without_a_replica_and_comes_back_only_by_its_promotion():
    fault = [{"id": "fo", "kind": "database_failover", "target": {"name": "db"}, "at_s": 20}]
    alone = go(fault, **DB)
    assert [(t, s) for t, s, _ in states(alone, "db")] == [(0, "healthy"), (20, "down")]
    assert [e["event"] for e in alone.fault_log] == ["start", "end"]
    assert share(alone, "dependency_error", 20.5) == 1
    replica = merge(DB, {"topology": {"databases": [merge(DB["topology"]["databases"][0],
                                                          {"replica": {"detection_s": 5, "promotion_s": 8}})]}})
    res = go(fault, **replica)
    tr = [t for t in res.transitions if t.component == "db"]
    assert [t.state for t in tr[1:]] == ["down", "healthy"]
    # checked every 5 s: down noticed at 20 or 25, declared dead 5 s later, promoted 8 s after that
    assert 20 + 5 + 8 <= tr[2].t_s <= 20 + 5 + 5 + 8
    assert tr[2].cause.mechanism == "replica_promotion" and tr[2].cause.parents == (tr[1].id,)
    assert share(res, "dependency_error", tr[2].t_s + 0.5) == 0


CACHE = merge(DB, {"topology": {"caches": [{"name": "kv", "zone": "a", "database": "db", "key_space": 50,
                                            "ttl_s": 1000}],
                                "pools": [merge(BASE["topology"]["pools"][0], {"database": "kv"})]}})


def test_cache_flush_sends_the_next_requests_to_the_database():
    fault = [{"id": "flush", "kind": "cache_flush", "target": {"name": "kv"}, "at_s": 30}]
    base, hit = go(None, **CACHE), go(fault, **CACHE)
    extra = hit.summary["components"]["db"]["queries"] - base.summary["components"]["db"]["queries"]
    assert 0 < extra <= 50  # at most one refill per key
    assert [e["event"] for e in hit.fault_log] == ["start", "end"]


def test_cache_down_sends_every_lookup_to_the_database():
    fault = [{"id": "cd", "kind": "cache_down", "target": {"name": "kv"}, "at_s": 20, "duration_s": 20}]
    hit = go(fault, **CACHE)
    n_window = len(rows(hit, 20.05, 39.95)["outcome"])
    base = go(None, **CACHE)
    extra = hit.summary["components"]["db"]["queries"] - base.summary["components"]["db"]["queries"]
    assert extra >= n_window - 50
    assert [s for _, s, _ in states(hit, "kv")] == ["healthy", "down", "healthy"]


def test_control_plane_overload_breaks_discovery_one_ttl_later():
    no_retries = _control_plane(100)
    no_retries["topology"]["discovery"]["control_plane"]["retry"] = {"max_attempts": 1}
    res = go([{"id": "cpo", "kind": "control_plane_overload", "target": {"name": "control-plane"}, "at_s": 20,
               "duration_s": 20, "load_multiplier": 10}], **no_retries)
    over = next(t for t in res.transitions if t.component == "control-plane" and t.state == "overloaded")
    # 140 ops/s on 100: the queue holds 1 s of work (the call timeout) after 100 / 40 = 2.5 s, one step late
    assert 22.5 < over.t_s <= 24.5
    failed = rows(res)["arrival_s"][rows(res)["outcome"] == "network_error"]
    # discovery serves its records 5 s more, and clients their cached answer up to 10 s more
    assert over.t_s + 5 < failed.min() <= over.t_s + 15
    # load gone at 40: the full queue (5 s of work, 500 ops) drains at 100 - 14 ops/s; calls stop timing out
    # once less than 1 s of work waits, (500 - 100) / 86 = 4.7 s later; records refresh, lookups succeed again
    back = 40 + (500 - 100) / 86
    assert back < failed.max() < back + 2.01 and share(res, "network_error", back + 2.01) == 0


# --- correlated -------------------------------------------------------------------------------------
def test_zone_outage_takes_down_every_component_of_the_zone():
    res = go([{"id": "zone", "kind": "zone_outage", "zone": "b", "at_s": 10, "duration_s": 20}])
    downs = {t.component for t in res.transitions if t.state == "down"}
    assert downs == {"p-1", "p-3"}
    r = rows(res, 10.1, 30)
    assert np.all(r["outcome"][np.isin(r["server"], ["p-1", "p-3"])] == "server_error")
    assert all(res.components[f"p-{i}"].state == "healthy" for i in range(4))


def test_cleanup_job_deletes_a_load_balancer_until_recreated():
    res = go([{"id": "clean", "kind": "cleanup_job", "target": {"name": "lb"}, "at_s": 10, "recreate_s": 15}])
    assert share(res, "network_error", 10.01, 24.99) == 1.0
    assert share(res, "network_error", 25.01) == 0
    assert [s for _, s, _ in states(res, "lb")][-2:] == ["down", "healthy"]


# --- overload ---------------------------------------------------------------------------------------
def test_surge_multiplies_arrivals_along_its_profile():
    fault = [{"id": "launch", "kind": "surge", "target": {"name": "c"}, "at_s": 10, "duration_s": 40,
              "multiplier": 3, "ramp_s": 10, "decay_s": 10}]
    over = {"run": {"duration_s": 60}, "workload": {"clients": [merge(BASE["workload"]["clients"][0],
                                                                      {"arrival": {"rate_rps": 20.0}})]}}
    res = go(fault, **over)
    arrivals = res.timeseries["arrivals"]
    hold = arrivals[20:40].mean()
    assert hold / 20.0 == pytest.approx(3.0, rel=0.1)
    assert arrivals[10:15].mean() < arrivals[15:20].mean() < hold
    assert arrivals[50:].mean() / 20.0 == pytest.approx(1.0, rel=0.2)


def test_bot_traffic_retries_immediately_up_to_its_attempts():
    faults = [{"id": "bots", "kind": "bot_traffic", "target": {"name": "c"}, "at_s": 10, "duration_s": 20,
               "rate_rps": 5, "max_attempts": 4},
              {"id": "bug", "kind": "error_rate", "target": {"pool": "p"}, "at_s": 0, "error_percent": 100}]
    res = go(faults)
    bots = rows(res, client="c-bots-bots")
    assert len(bots["attempts"]) > 50 and np.all(bots["attempts"] == 4)
    assert np.max(bots["arrival_s"]) < 30
    # four attempts back to back: at best the service time four times (no backoff), more when queued
    assert np.min(bots["latency_s"]) == pytest.approx(4 * 0.1, abs=0.006)
    assert np.all(rows(res, client="c")["attempts"] == 1)


# --- schedules ----------------------------------------------------------------------------------------
def test_recurring_windows():
    res = go([{"id": "blip", "kind": "error_rate", "target": {"pool": "p"}, "at_s": 5, "duration_s": 5,
               "recurring": {"every_s": 15, "count": 3}, "error_percent": 100}])
    assert [(e["t_s"], e["event"]) for e in res.fault_log] == [
        (5, "start"), (10, "end"), (20, "start"), (25, "end"), (35, "start"), (40, "end")]
    assert share(res, "server_error", 12, 19) == 0 and share(res, "server_error", 21, 24) == 1


@pytest.mark.parametrize("dist", [{"distribution": "exponential"}, {"distribution": "weibull", "shape": 2.0}])
def test_stochastic_failures_match_mtbf_and_mttr(dist):
    over = {"run": {"duration_s": 40_000, "bucket_s": 100},
            "workload": {"clients": [merge(BASE["workload"]["clients"][0], {"arrival": {"rate_rps": 0.001}})]}}
    res = go([{"id": "flaky", "kind": "crash", "target": {"pool": "p"}, "at_s": 0, "restart": False,
               "stochastic": {"mtbf_s": 300, "mttr_s": 100, **dist}}], **over)
    up, down = [], []
    last_end: dict[str, float] = {}
    opened: dict[str, float] = {}
    for e in res.fault_log:
        (target,) = e["targets"]
        if e["event"] == "start":
            up.append(e["t_s"] - last_end.get(target, 0.0))
            opened[target] = e["t_s"]
        else:
            down.append(e["t_s"] - opened.pop(target))
            last_end[target] = e["t_s"]
    assert len(down) > 300
    assert np.mean(up) == pytest.approx(300, rel=0.1)
    assert np.mean(down) == pytest.approx(100, rel=0.12)
    if dist["distribution"] == "weibull":
        assert np.std(up) / np.mean(up) == pytest.approx(math.sqrt(4 / math.pi - 1), rel=0.15)  # k = 2


def test_fault_runs_are_reproducible():
    faults = [{"id": "poison", "kind": "poison_request", "target": {"pool": "p"}, "at_s": 10, "duration_s": 20,
               "poison_percent": 2, "restart_delay_s": 2},
              {"id": "loss", "kind": "packet_loss", "zones": ["b"], "at_s": 5, "loss_percent": 20}]
    a, b = go(faults), go(faults)
    assert a.summary == b.summary
    assert [(t.t_s, t.component, t.state) for t in a.transitions] == [(t.t_s, t.component, t.state)
                                                                     for t in b.transitions]


# --- every kind keeps every request accounted for ----------------------------------------------------
FULL_STACK = {
    "name": "every-kind",
    "topology": {
        "zones": ["a", "b"],
        "network": {"same_zone_latency_ms": 0.2, "cross_zone_latency_ms": 1.0},
        "discovery": {"ttl_s": 5, "control_plane": {"capacity_ops_s": 300, "base_ops_s": 10, "ops_per_node_s": 1,
                                                    "record_ttl_s": 5, "call_timeout_s": 1,
                                                    "queue_limit_s": 5}},
        "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
        "pools": [{"name": "p", "replicas": 4, "zones": ["a", "b"], "database": "kv",
                   "server": {"mode": "llm", "model_load_s": 3.0, "kv_cache_tokens": 8000}}],
        "databases": [{"name": "db", "zone": "b", "connect_timeout_s": 1.0},
                      {"name": "pg", "zone": "a", "connections": {"pool_min": 5}}],
        "caches": [{"name": "kv", "zone": "a", "database": "db", "key_space": 200}],
    },
    "workload": {"clients": [{"name": "c", "zone": "a", "target": ["lb"], "timeout_s": 8.0,
                              "retry": {"max_attempts": 3, "backoff_base_s": 0.1},
                              "prompt_tokens": {"kind": "lognormal", "mean": 300, "cv": 0.5},
                              "output_tokens": {"kind": "lognormal", "mean": 60, "cv": 0.5},
                              "arrival": {"kind": "poisson", "rate_rps": 6.0}}]},
    "policies": {"health_check": {"period_s": 2, "failure_threshold": 2}},
    "run": {"duration_s": 90, "seed": 2},
}
KIND_FIELDS = {
    "surge": {"target": {"name": "c"}, "multiplier": 2, "ramp_s": 5, "decay_s": 5},
    "bot_traffic": {"target": {"name": "c"}, "rate_rps": 3},
    "crash": {"target": {"pool": "p", "count": 2}},
    "gpu_lost": {"target": {"pool": "p", "count": 1}, "replace_s": 10},
    "ecc_error": {"target": {"pool": "p", "count": 1}},
    "tp_link_failure": {"target": {"pool": "p", "count": 1}},
    "thermal_throttle": {"target": {"pool": "p"}, "ramp_s": 5},
    "kv_cache_exhaustion": {"target": {"pool": "p"}, "kv_cache_fraction": 0.05},
    "error_rate": {"target": {"pool": "p"}, "ramp_s": 5},
    "latency_inflation": {"target": {"pool": "p"}},
    "hang": {"target": {"pool": "p", "count": 2}},
    "poison_request": {"target": {"pool": "p"}, "poison_percent": 5, "restart_delay_s": 1},
    "memory_leak": {"target": {"pool": "p"}, "memory_limit_mb": 1000, "baseline_mb": 900, "per_request_mb": 5,
                    "leak_mb_per_request": 2, "leak_mb_per_s": 1, "restart_delay_s": 1},
    "wrong_answer": {"target": {"pool": "p"}},
    "network_latency": {"zones": ["b"]},
    "packet_loss": {"zones": ["a", "b"], "loss_percent": 20},
    "partition": {"between": ["p-1", "kv"]},
    "dns_failure": {"target": {"name": "discovery"}},
    "dns_cache_cut": {"target": {"name": "discovery"}, "lookup_timeout_s": 3},
    "bad_deploy": {"target": {"pool": "p"}, "bug": {"kind": "memory_leak", "memory_limit_mb": 1000,
                                                    "baseline_mb": 950, "leak_mb_per_request": 2},
                   "batch_interval_s": 1, "max_surge": 1},
    "drain": {"target": {"pool": "p", "percent": 50}},
    "config_push": {"target": {"pool": "p"}, "bug": {"kind": "hang"}},
    "os_update": {"target": {"pool": "p", "percent": 50}, "reimage_after_s": 10, "reimage_per_hour": 720},
    "fleet_change": {"target": {"pool": "p"}, "ops_per_node_s": 30},
    "database_slow": {"target": {"name": "db"}, "slow_factor": 50},
    "database_down": {"target": {"name": "db"}},
    "database_failover": {"target": {"name": "db"}},
    "connection_surge": {"target": {"name": "pg"}},
    "cache_flush": {"target": {"name": "kv"}},
    "cache_down": {"target": {"name": "kv"}},
    "control_plane_overload": {"target": {"name": "control-plane"}, "load_multiplier": 20},
    "control_plane_capacity_loss": {"target": {"name": "control-plane"}, "capacity_percent": 90},
    "zone_outage": {"zone": "b"},
    "cleanup_job": {"target": {"zone": "b", "count": 2}},
}


@pytest.mark.parametrize("kind", sorted(KIND_FIELDS))
def test_every_kind_accounts_for_every_request_and_is_removed_at_its_end(kind):
    fault = {"id": "f", "kind": kind, "at_s": 20, "duration_s": 30, **KIND_FIELDS[kind]}
    res = run(parse_scenario(merge(FULL_STACK, {"faults": [fault]})))
    acc = res.summary["accounting"]
    assert acc["balanced"] and acc["arrivals"] == acc["ended"] + acc["in_flight_at_end"]
    assert [e["event"] for e in res.fault_log] == ["start", "end"]
    direct = [t for t in res.transitions if t.cause.kind == "fault"]
    assert all(t.cause.source == "f" and t.t_s >= 20 for t in direct)
    if kind not in ("surge", "bot_traffic", "network_latency", "packet_loss", "partition"):
        assert direct, "a fault acting on components records what it did to them"


def test_every_kind_is_exercised():
    assert set(KIND_FIELDS) == set(FAULT_MODELS)
