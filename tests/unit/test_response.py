"""Operators in the model: online alerts agree with the analysis, the on-call's timing, runbook actions
through the port, the control-plane lock-out, and a status page that comes from what people did."""

from __future__ import annotations

from typing import Any

import pytest

from sim.analysis import analyze
from sim.assembly import build_stack
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.experiment.run import run
from sim.faults import FAULTS, schedule_faults
from sim.faults.base import end_fault
from sim.response.actions import ACTIONS
from sim.response.actions.base import ActionContext
from sim.response.log import ResponseLog
from sim.response.monitor import bucket_end_s
from sim.spec import parse_scenario
from sim.spec.loader import ScenarioError

from ..helpers import merge, run_live
from .test_fault_contract import touched
from .test_faults import FULL_STACK, KIND_FIELDS

PAGE_S, ACK_S, DIAG_S, DELAY_S = 20.0, 40.0, 60.0, 15.0


def stack(**over: Any) -> dict[str, Any]:
    """Four plain replicas behind one load balancer at about half load; a bad build can be rolled over them."""
    base: dict[str, Any] = {
        "name": "response",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 4,
                                "server": {"mode": "plain", "concurrency": 4, "queue_capacity": 50,
                                           "model_load_s": 20,
                                           "service_time_s": {"kind": "exponential", "mean": 0.05}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb"], "users": 300, "timeout_s": 5,
                                  "arrival": {"kind": "poisson", "rate_rps": 40}}]},
        "policies": {"health_check": {"enabled": True, "period_s": 2}},
        "slo": {"availability": 0.95, "window_s": 20},
        "run": {"duration_s": 600, "warmup_s": 10, "bucket_s": 5, "seed": 3},
    }
    return merge(base, over)


BAD_BUILD = {"id": "bad-build", "kind": "bad_deploy", "target": {"pool": "api"}, "at_s": 60,
             "bug": {"kind": "error_rate", "error_percent": 60}, "max_unavailable": 4, "restart_delay_s": 1}
"""A bad build on every replica at once, lasting until someone rolls it back (no duration_s)."""


def oncall(diagnose_s: float = DIAG_S) -> dict[str, Any]:
    return {"page_s": PAGE_S, "ack_s": ACK_S, "diagnose_s": diagnose_s}


def rollback(**over: Any) -> dict[str, Any]:
    return {"name": "roll-back", "kind": "rollback", "fault": "bad-build", "pool": "api", "batch_size": 2,
            "restart_s": 2, "after_alert": "slo-availability", "delay_s": DELAY_S, **over}


def events(result: Any, event: str) -> list[dict[str, Any]]:
    return [e for e in result.summary["response"]["log"] if e["event"] == event]


# --- online alerting ---------------------------------------------------------------------------------

ALERTS = [
    {"name": "avail", "metric": "success_ratio", "op": "below", "threshold": 0.97, "window_s": 20, "for_s": 10},
    {"name": "errors", "metric": "error_ratio", "reason": "server_error", "op": "above", "threshold": 0.02,
     "window_s": 15, "for_s": 0},
    {"name": "slow", "metric": "latency_p99_s", "op": "above", "threshold": 0.2, "window_s": 10, "for_s": 5},
    {"name": "fast", "metric": "latency_p50_s", "op": "below", "threshold": 0.06, "window_s": 10, "for_s": 0},
    {"name": "goodput", "metric": "goodput_rps", "op": "below", "threshold": 36, "window_s": 10, "for_s": 0},
    {"name": "attempts", "metric": "attempt_rps", "op": "above", "threshold": 45, "window_s": 10, "for_s": 0},
    {"name": "queue", "metric": "in_flight", "op": "above", "threshold": 8, "window_s": 5, "for_s": 5},
]


@pytest.fixture(scope="module")
def monitored():
    """A bad build and silent wrong answers, every kind of rule and a quality probe; people act on none."""
    wrong = {"id": "wrong", "kind": "wrong_answer", "target": {"pool": "api"}, "at_s": 200, "duration_s": 200,
             "wrong_percent": 20}
    flaky = {**BAD_BUILD, "duration_s": 150, "bug": {"kind": "error_rate", "error_percent": 15}}
    data = stack(faults=[flaky, wrong],
                 monitoring={"alerts": ALERTS, "quality_probe": {"sample_share": 0.2, "detection_delay_s": 30,
                                                                 "window_s": 30, "min_samples": 5}},
                 response={"oncall": oncall(), "actions": []})
    data["run"]["bucket_s"] = 0.7  # not a binary fraction: bucket ends round (sim.response.monitor.bucket_end_s)
    return run(parse_scenario(data))


def test_online_alerts_fire_when_the_analysis_says_they_fired(monitored):
    offline = analyze(monitored)["incident"]["alerts"]
    online = monitored.summary["response"]["alerts"]
    duration_s = monitored.scenario.run.duration_s
    key = ("alert", "pending_s", "fired_s", "resolved_s")

    def seen(episodes):  # the run stops at its end: an evaluation at exactly duration_s happens only afterwards
        return [tuple(e[k] for k in key) for e in episodes if e["fired_s"] < duration_s]

    assert seen(online) == seen(offline)
    assert {e["alert"] for e in offline} >= {"avail", "errors", "goodput", "quality-probe"}  # the test has teeth
    fired = [e["t_s"] for e in events(monitored, "alert fires")]
    assert fired == sorted(e["fired_s"] for e in online)


def test_bucket_ends_are_past_every_event_of_the_bucket():
    for bucket_s in (0.1, 0.3, 0.7, 1.0, 5.0):
        for i in range(2000):
            t = bucket_end_s(i, bucket_s)
            assert int(t / bucket_s) == i + 1 and t >= (i + 1) * bucket_s


# --- the on-call and the runbook -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rolled_back():
    return run(parse_scenario(stack(faults=[BAD_BUILD], response={"oncall": oncall(), "actions": [rollback()]})))


def test_the_action_runs_after_page_ack_diagnosis_and_its_delay(rolled_back):
    fired = events(rolled_back, "alert fires")[0]
    assert fired["alert"] == "slo-availability"
    t0 = fired["t_s"]
    assert events(rolled_back, "page")[0]["t_s"] == pytest.approx(t0 + PAGE_S)
    assert events(rolled_back, "acknowledged")[0]["t_s"] == pytest.approx(t0 + PAGE_S + ACK_S)
    assert events(rolled_back, "diagnosed")[0]["t_s"] == pytest.approx(t0 + PAGE_S + ACK_S + DIAG_S)
    assert events(rolled_back, "action starts")[0]["t_s"] == pytest.approx(t0 + PAGE_S + ACK_S + DIAG_S + DELAY_S)


def test_a_rollback_ends_the_bad_build_replica_by_replica_and_then_the_fault(rolled_back):
    start = events(rolled_back, "action starts")[0]["t_s"]
    ends = [e for e in rolled_back.fault_log if e["fault"] == "bad-build" and e["event"] == "end"]
    assert len(ends) == 1 and ends[0]["t_s"] > start  # the fault's window ends when its last replica is clean
    restarts = sorted(t.t_s for t in rolled_back.transitions
                      if t.state == "down" and t.cause.kind == "operator" and t.t_s >= start)
    assert len(restarts) == 4
    assert restarts[2] > restarts[1]  # batches of two: the second batch waits for the first to serve again
    steady = analyze(rolled_back)["metastability"]
    assert steady["recovered_at_s"] is not None and steady["recovered_at_s"] > ends[0]["t_s"] - 60


def test_the_status_page_comes_from_the_responders(rolled_back):
    inc = analyze(rolled_back)["incident"]
    assert inc["status_from"] == "response"
    phases = [s["status"] for s in inc["status"]]
    assert phases == ["Investigating", "Identified", "Monitoring", "Resolved"]
    times = [s["t_s"] for s in inc["status"]]
    assert times == sorted(times)
    assert times[0] == events(rolled_back, "acknowledged")[0]["t_s"]
    assert times[1] == events(rolled_back, "diagnosed")[0]["t_s"]
    assert times[2] >= events(rolled_back, "action done")[-1]["t_s"]
    assert inc["time_to_mitigate_s"] == pytest.approx(events(rolled_back, "action starts")[0]["t_s"] - 60)


def test_without_the_alert_the_action_never_runs():
    never = {"alerts": [{"name": "never", "metric": "success_ratio", "op": "below", "threshold": 0.0}]}
    res = run_live(parse_scenario(stack(faults=[BAD_BUILD], monitoring=never, response={
        "oncall": oncall(), "actions": [rollback(after_alert="never"),
                                        {"name": "limit", "kind": "limit_traffic", "rate_rps": 1,
                                         "after_alert": "never"}]})))
    assert not events(res, "action starts") and not events(res, "page")
    assert res.components["lb"].effects.neutral()
    assert not [e for e in res.fault_log if e["event"] == "end"]  # the bad build stays: nobody rolled it back


def test_a_slower_responder_gives_a_longer_outage():
    """Sensitivity, measured: minutes of diagnosis add to the time to recover and to the failed requests."""
    out = {}
    for diagnose_s in (30.0, 240.0):
        res = run(parse_scenario(stack(faults=[BAD_BUILD], response={"oncall": oncall(diagnose_s),
                                                                      "actions": [rollback()]})))
        a = analyze(res)
        out[diagnose_s] = (a["incident"]["time_to_recover_s"], res.summary["measured"]["failures"]["server_error"])
    (fast_ttr, fast_failed), (slow_ttr, slow_failed) = out[30.0], out[240.0]
    assert slow_ttr > fast_ttr + 150  # the extra 210 s of diagnosis, less the noise of bucket-level detection
    assert slow_failed > fast_failed * 1.5


# --- the control-plane lock-out --------------------------------------------------------------------------

class StubControlPlane:
    """A control plane seen through its public state only: not serving until ``back_s``."""

    kind = "control_plane"
    name = "control-plane"

    def __init__(self, world: World, back_s: float):
        self.world = world
        self.back_s = back_s

    @property
    def serving(self) -> bool:
        return self.world.now >= self.back_s

    @property
    def state(self) -> str:
        return "healthy" if self.serving else "overloaded"

    def call_when_serving(self, fn, *args) -> None:
        self.world.call_later(max(0.0, self.back_s - self.world.now), fn, *args)


def test_an_action_that_needs_the_control_plane_waits_for_it():
    world = World(1, 1000, 10, 0)
    log = ResponseLog()
    spec = parse_scenario(stack(faults=[BAD_BUILD], response={"actions": [rollback()]})).response.actions[0]
    ran: list[float] = []
    ctx = ActionContext(world, None, spec, log, StubControlPlane(world, back_s=95.0))
    world.call_later(30.0, ctx.when_control_plane, lambda: ran.append(world.now))
    world.env.run(until=500)
    assert [e["event"] for e in log.entries] == ["action waits", "action step"]
    assert ran == [95.0]


# --- the spec ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("response", "path"), [
    ({"actions": [{"name": "a", "kind": "limit_traffic", "share": 0.5, "after_alert": "nope"}]},
     "response.actions[0].after_alert"),
    ({"actions": [{"name": "a", "kind": "rollback", "fault": "ghost", "at_s": 10}]}, "response.actions[0].fault"),
    ({"actions": [{"name": "a", "kind": "disable_config", "fault": "bad-build", "at_s": 10}]},
     "response.actions[0].fault"),
    ({"actions": [{"name": "a", "kind": "limit_traffic", "share": 0.5, "at_s": 10, "load_balancers": ["x"]}]},
     "response.actions[0].load_balancers[0]"),
    ({"actions": [{"name": "a", "kind": "redeploy", "pool": "web", "at_s": 10}]}, "response.actions[0].pool"),
    ({"routing": {"page": ["nope"]}}, "response.routing.page[0]"),
    ({"actions": [{"name": "a", "kind": "limit_traffic", "share": 0.5, "at_s": 9999}]}, "response.actions[0].at_s"),
])
def test_bad_response_sections_are_one_line_errors(response, path):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(stack(faults=[BAD_BUILD], response=response))
    assert path in str(err.value) and "\n" not in str(err.value).strip()


@pytest.mark.parametrize("action", [
    {"name": "a", "kind": "limit_traffic", "at_s": 10},
    {"name": "a", "kind": "limit_traffic", "share": 0.5},
    {"name": "a", "kind": "limit_traffic", "share": 0.5, "at_s": 10, "after_alert": "slo-availability"},
])
def test_an_action_needs_one_trigger_and_one_limit(action):
    with pytest.raises(ScenarioError):
        parse_scenario(stack(response={"actions": [action]}))


# --- every action kind acts through the port, and only as it says ---------------------------------------

CP = {"discovery": {"ttl_s": 30, "control_plane": {"capacity_ops_s": 1000}}}
"""A control plane serving discovery: 100 + 5 per node ops/s, well under its capacity."""
TWO_ZONES = {"zones": ["a", "b"], "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["api"]}],
             "pools": [{"name": "api", "replicas": 4, "zones": ["a", "b"],
                        "server": {"mode": "plain", "concurrency": 4, "queue_capacity": 50, "model_load_s": 20,
                                   "service_time_s": {"kind": "exponential", "mean": 0.05}}}]}
OS_UPDATE = {"id": "os", "kind": "os_update", "target": {"pool": "api", "count": 2}, "at_s": 60,
             "reimage_per_hour": None}


def _check_limit(res: Any, by_operator: set[str]) -> None:
    assert by_operator == {"lb"}  # only the load balancer it limits, and it lifts its limit in the end
    assert _effect_sources(res.components) == {}
    limited = res.summary["components"]["lb"]["admission_limited"]
    assert limited > 0 and res.summary["measured"]["outcomes"]["rate_limited"] >= limited


def _check_restarts(res: Any, by_operator: set[str]) -> None:
    ends = [e for e in res.fault_log if e["fault"] == "bad-build" and e["event"] == "end"]
    assert len(ends) == 1 and ends[0]["t_s"] >= 100  # the fault ended by its own end path, after the action
    assert _effect_sources(res.components) == {}  # nothing of the fault is left on any component
    assert by_operator == _replicas(res)  # every replica restarted by the operators, nothing else touched
    assert all(res.components[n].serving for n in _replicas(res))


def _check_ended(fault: str):
    def check(res: Any, by_operator: set[str]) -> None:
        ends = [e for e in res.fault_log if e["fault"] == fault and e["event"] == "end"]
        assert len(ends) == 1 and ends[0]["t_s"] == 100
        assert _effect_sources(res.components) == {}
        assert by_operator == set()  # ending a fault needs no restart: the fault's end records the change
        assert all(res.components[n].serving for n in _replicas(res))
    return check


def _check_scale(res: Any, by_operator: set[str]) -> None:
    added = sorted(_replicas(res) - {f"api-{i}" for i in range(4)})
    assert added == ["api-4", "api-5"] and all(res.components[n].serving for n in added)
    first = min(t.t_s for t in res.transitions if t.component in added and t.state == "healthy"
                and t.cause.kind != "init")
    assert first >= 100 + 30 + 20  # the provisioning delay, then the model load (20 s)
    assert res.summary["components"]["lb"]["replicas"] == 6 and _effect_sources(res.components) == {}


def _check_cp(res: Any, by_operator: set[str]) -> None:
    cp = res.components["control-plane"]
    assert cp.effects.active() == {"added_capacity_ops_s": {"response:act": 500.0}}
    assert {n for n in _effect_sources(res.components)} == {"control-plane"}


def _check_failover(res: Any, by_operator: set[str]) -> None:
    lb = res.components["lb"]
    in_b = sorted(n for n in _replicas(res) if res.components[n].zone == "b")
    assert in_b and all(lb.ejected_by(res.components[n], "failover") for n in in_b)
    assert all(lb.in_rotation(res.components[n]) for n in _replicas(res) if n not in in_b)
    assert _effect_sources(res.components) == {} and by_operator == {"lb"}


def _check_reimage(res: Any, by_operator: set[str]) -> None:
    nodes = next(e["targets"] for e in res.fault_log if e["fault"] == "os")
    back = sorted(t.t_s for t in res.transitions if t.component in nodes and t.state == "starting" and t.t_s > 60)
    assert back == pytest.approx([100 + 60, 100 + 120])  # 60 per hour: one a minute from the action
    assert all(res.components[n].serving and not res.components[n].holds for n in nodes)


ZONE_CONFINED = {"zones": ["a", "b", "c"],
                 "load_balancers": [{"name": "lb", "zone": "c", "upstream": ["api"],
                                     "balancing": {"kind": "zone_aware", "failover": False}}],
                 "pools": TWO_ZONES["pools"]}
"""A zone-aware load balancer in zone c, never leaving its zone, in front of replicas in zones a and b only."""


def _check_reroute(res: Any, by_operator: set[str]) -> None:
    ts = res.timeseries
    served = [(t, n) for t, n in zip(ts["t_s"], ts["outcome_success"], strict=True) if n > 0]
    assert served and 100 <= served[0][0] and served[-1][0] <= 300 + res.scenario.run.bucket_s
    assert res.summary["measured"]["outcomes"]["no_healthy_upstream"] > 0  # before and after, nothing leaves c
    assert _effect_sources(res.components) == {} and by_operator == {"lb"}


SHARDED_CACHE = {"pools": [{**TWO_ZONES["pools"][0], "zones": None, "database": "auth"}],
                 "databases": [{"name": "db", "pool_size": 20, "service_time_s": {"kind": "exponential",
                                                                                   "mean": 0.005}}],
                 "caches": [{"name": "auth", "database": "db", "key_space": 100, "shards": 4,
                             "shard_concurrency": 2, "lookup_s": 0.01}]}
"""Replicas that look every caller up in a 4-shard cache of 2 command slots per shard."""


def _check_scale_cache(res: Any, by_operator: set[str]) -> None:
    shards = res.components["auth"].shards
    assert [s.concurrency for s in shards] == [6] * 4  # 2 slots x 3 on every shard, from the action on
    assert by_operator == {"auth"} and _effect_sources(res.components) == {}


CASES: dict[str, dict[str, Any]] = {
    "limit_traffic": {"action": {"rate_rps": 10, "duration_s": 100}, "faults": [], "check": _check_limit},
    "block_and_ramp": {"action": {"block_s": 20, "ramp_s": 40, "steps": 4}, "faults": [], "check": _check_limit},
    "redeploy": {"action": {"pool": "api", "batch_size": 2, "restart_s": 1, "fault": "bad-build"},
                 "faults": [BAD_BUILD], "check": _check_restarts},
    "rollback": {"action": {"fault": "bad-build", "batch_percent": 50, "restart_s": 1}, "faults": [BAD_BUILD],
                 "check": _check_restarts},
    "disable_config": {"action": {"fault": "cfg"},
                       "faults": [{"id": "cfg", "kind": "config_push", "target": {"pool": "api"}, "at_s": 60,
                                   "propagation_s": 5, "bug": {"kind": "error_rate", "error_percent": 50}}],
                       "check": _check_ended("cfg")},
    "end_fault": {"action": {"fault": "slow"},
                  "faults": [{"id": "slow", "kind": "latency_inflation", "target": {"pool": "api"}, "at_s": 60,
                              "slow_factor": 3}], "check": _check_ended("slow")},
    "scale_pool": {"action": {"pool": "api", "add": 2, "provisioning_delay_s": 30}, "faults": [],
                   "check": _check_scale},
    "add_control_plane_capacity": {"action": {"capacity_ops_s": 500}, "faults": [], "topology": CP,
                                   "check": _check_cp},
    "failover": {"action": {"zone": "b"}, "faults": [], "topology": TWO_ZONES, "check": _check_failover},
    "reimage": {"action": {"fault": "os", "per_hour": 60}, "faults": [OS_UPDATE], "check": _check_reimage},
    "reroute": {"action": {"duration_s": 200}, "faults": [], "topology": ZONE_CONFINED, "check": _check_reroute},
    "scale_cache": {"action": {"cache": "auth", "factor": 3}, "faults": [], "topology": SHARDED_CACHE,
                    "check": _check_scale_cache},
}


def test_every_action_kind_has_a_contract_case():
    assert sorted(CASES) == ACTIONS.names()


def _effect_sources(components: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    return {name: c.effects.active() for name, c in components.items() if c.effects.active()}


def _replicas(res: Any) -> set[str]:
    return {n for n, c in res.components.items() if c.kind == "server"}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_action_changes_what_it_says_through_the_port(kind):
    case = CASES[kind]
    action = {"name": "act", "kind": kind, "at_s": 100, **case["action"]}
    res = run_live(parse_scenario(stack(faults=case["faults"], response={"actions": [action]},
                                        topology=case.get("topology", {}), run={"duration_s": 400})))
    log = res.summary["response"]["log"]
    assert [e["t_s"] for e in log if e["event"] in ("action starts", "action done")][0] == 100
    assert any(e["event"] == "action done" for e in log)
    case["check"](res, {t.component for t in res.transitions if t.cause.kind == "operator"})


def test_ending_a_fault_stops_its_later_occurrences():
    data = stack(faults=[{"id": "blip", "kind": "error_rate", "target": {"pool": "api"}, "at_s": 50,
                          "duration_s": 20, "error_percent": 50, "recurring": {"every_s": 100, "count": 4}}],
                 response={"actions": [{"name": "fix", "kind": "end_fault", "fault": "blip", "at_s": 160}]})
    res = run(parse_scenario(data))
    starts = [e["t_s"] for e in res.fault_log if e["event"] == "start"]
    assert starts == [50, 150]  # the third and fourth windows never start
    ends = [e["t_s"] for e in res.fault_log if e["event"] == "end"]
    assert ends == [70, 160]


def test_end_fault_of_an_inactive_fault_changes_nothing():
    world = World(1, 100, 1, 0)
    assert end_fault(world, "nothing", "ended") is False
    assert Cause("operator", "a", "end_fault", "x").kind == "operator"


def test_a_rollback_through_an_overloaded_control_plane_waits_until_capacity_is_added():
    """Card 8's lock-out on the control plane's own dynamics: the rollback of the change that overloads it
    needs it; it waits, and runs once operators have added capacity and calls succeed again."""
    change = {"id": "telemetry", "kind": "fleet_change", "target": {"pool": "api"}, "at_s": 60, "ops_per_node_s": 100}
    roll = {"name": "roll-back", "kind": "rollback", "fault": "telemetry", "at_s": 150}
    more = {"name": "more-api", "kind": "add_control_plane_capacity", "capacity_ops_s": 5000, "at_s": 200}
    for actions in ([roll, more], [roll]):
        res = run(parse_scenario(stack(faults=[change], topology=CP, response={"actions": actions},
                                       run={"duration_s": 400})))
        log = res.summary["response"]["log"]
        waits = [e["t_s"] for e in log if e["event"] == "action waits"]
        ended = [e["t_s"] for e in res.fault_log if e["fault"] == "telemetry" and e["event"] == "end"]
        assert waits == [150.0]  # the control plane was overloaded when the rollback was due
        if len(actions) == 2:
            assert len(ended) == 1 and ended[0] >= 200  # only after the capacity came
            serving = [t.t_s for t in res.transitions if t.component == "control-plane"
                       and t.state in ("healthy", "degraded") and 200 <= t.t_s <= ended[0]]
            assert serving  # ... and the control plane served calls again
        else:
            assert ended == []  # locked out: nobody can roll back through a control plane that does not answer


@pytest.mark.parametrize("kind", sorted(FAULTS.names()))
def test_every_fault_kind_lasts_until_people_end_it_and_then_leaves_nothing(kind):
    """A fault without ``duration_s`` lasts until an action ends it; ``end_fault`` goes through the kind's own
    end path, so every component it touched is neutral and unheld afterwards (as after a scheduled window)."""
    fault = {"id": "f", "kind": kind, "at_s": 20.0, **KIND_FIELDS[kind]}
    fault.pop("duration_s", None)
    data = merge(FULL_STACK, {"faults": [fault], "topology": {"databases": [
        {"name": "db", "zone": "b", "connect_timeout_s": 1.0,
         "replica": {"zone": "a", "detection_s": 5, "promotion_s": 5}},
        {"name": "pg", "zone": "a", "connections": {"pool_min": 5}}]}})
    try:
        scenario = parse_scenario(data)
    except ScenarioError as err:  # a kind whose schedule needs a window of its own (a surge that decays)
        assert "duration_s" in str(err)
        return
    world = World(scenario.run.seed, scenario.run.duration_s, scenario.run.bucket_s, scenario.run.warmup_s)
    built = build_stack(scenario, world)
    schedule_faults(scenario, built, world)
    names = {n for n, c in built.by_name.items() if hasattr(c, "effects")}
    seen: list[Any] = []
    world.call_later(49.0, lambda: seen.append(touched(built, names)))
    world.call_later(50.0, end_fault, world, "f", "ended by operators")
    world.call_later(89.0, lambda: seen.append(touched(built, names)))
    world.env.run(until=scenario.run.duration_s)
    ends = [e["t_s"] for e in world.faults.log if e["event"] == "end"]
    instant = next(iter(world.faults.faults_of("f"))).instant
    if not instant:
        assert ends == [50.0]  # it lasted until people ended it, and ended then
    assert seen[1] == {}, f"{kind} left effects or holds after people ended it"


def test_a_redeploy_batch_is_done_only_when_its_replicas_serve_again():
    """Regression: a draining replica still counts as ``serving``, so a batch must not be judged done before its
    replicas have stopped, restarted and loaded their model: the next batch starts after that, not during it."""
    hung = {"id": "hung", "kind": "hang", "target": {"pool": "api"}, "at_s": 50}
    data = stack(faults=[hung], response={"actions": [{"name": "redo", "kind": "redeploy", "pool": "api",
                                                       "batch_size": 2, "drain_grace_s": 30, "restart_s": 2,
                                                       "fault": "hung", "at_s": 100}]})  # hung: drains last 30 s
    res = run(parse_scenario(data))
    steps = [e["t_s"] for e in res.summary["response"]["log"] if e["event"] == "action step"]
    assert len(steps) == 2
    batch1 = ("api-0", "api-1")
    back = [t.t_s for t in res.transitions if t.component in batch1 and t.state == "healthy" and t.t_s > 100]
    assert len(back) == 2 and steps[1] >= max(back)  # both restarted, loaded (20 s) and serving first
    assert steps[1] >= 100 + 30 + 2 + 20


def test_operators_promote_a_database_standby_while_the_primary_still_answers():
    """``failover`` with ``database``: the failover controller promotes the standby now (its promotion_s), which
    the automatic failover never does while the primary answers."""
    topo = {"zones": ["a", "b"],
            "databases": [{"name": "db", "zone": "a", "replica": {"zone": "b", "detection_s": 10, "promotion_s": 30}}],
            "pools": [{"name": "api", "replicas": 4, "database": "db",
                       "server": {"mode": "plain", "concurrency": 4, "queue_capacity": 50, "model_load_s": 20,
                                  "service_time_s": {"kind": "exponential", "mean": 0.05}}}]}
    act = {"name": "promote", "kind": "failover", "database": "db", "at_s": 100}
    res = run_live(parse_scenario(stack(topology=topo, response={"actions": [act]}, run={"duration_s": 300})))
    done = [e["t_s"] for e in res.summary["response"]["log"] if e["event"] == "action done"]
    assert done == [130.0]
    promoted = [t for t in res.transitions if t.component == "db" and "promoted" in t.cause.detail]
    assert [t.t_s for t in promoted] == [130.0] and "operators" in promoted[0].cause.detail
    assert res.components["db"].zone == "b" and res.components["db"].available
    without = run(parse_scenario(stack(topology=topo, run={"duration_s": 300})))
    assert not [t for t in without.transitions if t.component == "db" and "promoted" in t.cause.detail]


@pytest.mark.parametrize(("action", "path"), [
    ({"name": "a", "kind": "failover", "database": "nope", "at_s": 10}, "response.actions[0].database"),
    ({"name": "a", "kind": "add_control_plane_capacity", "control_plane": "nope", "capacity_ops_s": 5, "at_s": 10},
     "response.actions[0].control_plane"),
    ({"name": "a", "kind": "failover", "zone": "nowhere", "at_s": 10}, "response.actions[0].zone"),
])
def test_phase_two_references_are_checked(action, path):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(stack(response={"actions": [action]}))
    assert path in str(err.value)


def test_scale_cache_needs_a_sharded_cache():
    action = {"name": "a", "kind": "scale_cache", "at_s": 10, "cache": "auth", "factor": 2}
    unsharded = {**SHARDED_CACHE, "caches": [{**SHARDED_CACHE["caches"][0], "shard_concurrency": None}]}
    for topology, reason in (({}, "no cache named 'auth'"), (unsharded, "no shard_concurrency")):
        with pytest.raises(ScenarioError) as err:
            parse_scenario(stack(topology=topology, response={"actions": [action]}))
        assert "response.actions[0].cache" in str(err.value) and reason in str(err.value)
    parse_scenario(stack(topology=SHARDED_CACHE, response={"actions": [action]}))


@pytest.mark.parametrize(("topology", "lbs", "path"), [
    ({}, ["lb"], "response.actions[0].load_balancers[0]"),  # round robin: nothing keeps traffic in a zone
    ({}, None, "response.actions[0].kind"),
])
def test_reroute_needs_a_zone_aware_load_balancer(topology, lbs, path):
    action = {"name": "a", "kind": "reroute", "at_s": 10, "load_balancers": lbs}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(stack(topology=topology, response={"actions": [action]}))
    assert path in str(err.value) and "zone_aware" in str(err.value)
    parse_scenario(stack(topology=ZONE_CONFINED, response={"actions": [action]}))


def test_an_action_concerns_the_control_plane_that_covers_its_pool():
    from types import SimpleNamespace

    from sim.response.actions.base import control_plane_for

    def plane(name, pools):
        return SimpleNamespace(kind="control_plane", name=name, covers=lambda s: s.pool in pools)

    big, small, dns = plane("cp-big", {"api"}), plane("cp-small", {"web"}), plane("control-plane", set())
    servers = [SimpleNamespace(pool="web"), SimpleNamespace(pool="api")]
    stack_ = SimpleNamespace(by_name={"cp-big": big, "cp-small": small, "control-plane": dns}, servers=servers)
    assert control_plane_for(stack_, None, "api") == [big]
    assert control_plane_for(stack_, None, "web") == [small]
    assert control_plane_for(stack_, None, None) == [dns]
    assert control_plane_for(stack_, "cp-small", None) == [small]


def test_removing_replicas_takes_the_newest_out_and_keeps_them_down():
    act = {"name": "fewer", "kind": "scale_pool", "pool": "api", "remove": 2, "at_s": 100, "needs_control_plane": False}
    res = run_live(parse_scenario(stack(response={"actions": [act]}, run={"duration_s": 300})))
    gone = {"api-2", "api-3"}
    assert all(res.components[n].state == "down" and "response:fewer" in res.components[n].holds for n in gone)
    assert all(res.components[n].serving for n in ("api-0", "api-1"))
    assert res.summary["components"]["lb"]["replicas"] == 2
    assert [e["event"] for e in res.summary["response"]["log"]] == ["action starts", "action done"]
    with pytest.raises(ScenarioError):
        parse_scenario(stack(response={"actions": [{**act, "add": 1}]}))
