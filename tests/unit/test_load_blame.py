"""Blame for load, on hand-built cases whose answer is known exactly: a client's retry trail (attempt
amplification and the transitions it retries), the load sources of the clients feeding a replica, the
callers of a saturated database, and the cascade graph those causes build."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.analysis.cascade import analyze_cascade, cascade_graph, demand_node, fault_node
from sim.components.database import Database
from sim.components.effects import Effects
from sim.engine.blame import RETRY_EPISODE_GAP_S, RetryTrail, client_loads, feeding_clients
from sim.engine.distributions import Deterministic, Sampler
from sim.engine.timeline import Cause, Load, StateTimeline, Transition
from sim.engine.world import World
from sim.experiment.run import run
from sim.spec import parse_scenario


def _timeline_with_a_down_replica() -> tuple[StateTimeline, int]:
    tl = StateTimeline()
    tl.set(0.0, "a", "healthy", Cause("init", "a", "initial"))
    tl.set(0.0, "b", "healthy", Cause("init", "b", "initial"))
    down = tl.set(5.0, "a", "down", Cause("fault", "crash-1", "crash"))
    return tl, down


def test_retry_trail_counts_attempts_per_request_and_names_what_it_retries():
    tl, down = _timeline_with_a_down_replica()
    trail = RetryTrail()
    trail.retried(0.0, 0, "a", tl)   # a failure at the down replica: its crash is the origin
    trail.retried(5.0, 10, "b", tl)  # a failure at a healthy replica (a timeout): not an origin
    trail.retried(6.0, 12, None, tl)
    # 20 requests arrived since the first mark, 3 retries: 23 attempts for 20 requests
    assert trail.amplification(10.0, 20) == pytest.approx((23 / 20, 10.0))
    load = trail.load("users", 10.0, 20)
    assert load == Load("retries", "users", "1.15 attempts per request over the last 10 s", (down,))
    # 2 retries for 20 requests is 1.1: not above the threshold, not named
    fewer = RetryTrail()
    fewer.retried(0.0, 0, "a", tl)
    fewer.retried(1.0, 1, "a", tl)
    assert fewer.load("users", 10.0, 20) is None


def test_a_quiet_gap_ends_the_retry_episode_and_its_origin():
    tl, down = _timeline_with_a_down_replica()
    trail = RetryTrail()
    trail.retried(0.0, 0, "a", tl)
    assert trail.origin == {down: None}
    assert trail.amplification(RETRY_EPISODE_GAP_S + 1, 100) is None  # over: no retry for a whole gap
    tl.set(50.0, "a", "starting", Cause("mechanism", "a", "restart", parents=(down,)))
    tl.set(60.0, "a", "healthy", Cause("mechanism", "a", "cold_start"))
    trail.retried(100.0, 100, "a", tl)
    assert trail.episode == 2 and trail.origin == {}


def _client(name: str, sources: dict[str, float], trail: RetryTrail | None = None, arrived: int = 0,
            lb_servers: tuple[str, ...] = ("api-0",)):
    effects = Effects(("arrival_rate", "poison_share"))
    for fid, m in sources.items():
        effects.set(fid, "arrival_rate", m)
    lb = SimpleNamespace(servers=[SimpleNamespace(name=s) for s in lb_servers])
    return SimpleNamespace(kind="client", name=name, effects=effects, retry_trail=trail, arrived=arrived,
                           origin_fault=None, balancers=[lb])


def test_client_loads_name_a_surge_and_otherwise_the_demand():
    surged = _client("users", {"surge-1": 2.0, "calm-down": 0.5})
    assert client_loads([surged], 0.0) == (Load("fault", "surge-1", "arrival rate of users x2"),)
    plain = _client("users", {})
    assert client_loads([plain], 0.0) == (Load("demand", "users", "the workload's own demand"),)
    # a load explained otherwise (shifted from peers, callers in trouble) does not name the demand
    assert client_loads([plain], 0.0, explained=True) == ()
    bots = _client("users-bots-b1", {})
    bots.origin_fault = "b1"
    assert client_loads([bots], 0.0) == (Load("fault", "b1", "bot population users-bots-b1"),)


def test_feeding_clients_follow_the_load_balancers():
    a = _client("a", {}, lb_servers=("api-0", "api-1"))
    b = _client("b", {}, lb_servers=("other-0",))
    comps = {"a": a, "b": b, "api-0": SimpleNamespace(kind="server", name="api-0")}
    assert feeding_clients(comps, "api-1") == [a]
    assert feeding_clients(comps, "other-0") == [b]


class _Caller:
    def __init__(self, name: str):
        self.name = name
        self.answers: list[bool] = []

    def done(self, ok: bool) -> None:
        self.answers.append(ok)


def test_a_saturated_database_names_the_callers_whose_queries_wait():
    world = World(seed=1, duration_s=100.0, bucket_s=1.0, warmup_s=0.0)
    world.network = SimpleNamespace(latency_s=lambda a, b: 0.0, reachable=lambda a, b: True, cut=lambda a, b: False,
                                    call_s=lambda a, b, answering: (0.0, answering), unimpaired=True)
    db = Database(world, "store", "z", pool_size=1, queue_capacity=3, connect_timeout_s=50.0,
                  service=Sampler(Deterministic(10.0), np.random.default_rng(0)))
    callers = [_Caller(f"svc-{i}") for i in range(4)]
    tids = [world.set_state(c.name, "starting", Cause("mechanism", c.name, "restart")) for c in callers]
    for c in callers:  # svc-0 takes the one connection; the other three wait (90 % of 3: overloaded at 2)
        db.call("z", c.done)
    over = [t for t in world.timeline.transitions if t.component == "store" and t.state == "overloaded"]
    assert len(over) == 1
    # the two callers waiting when the pool tipped, not the one being served
    assert over[0].cause.parents == (tids[1], tids[2])
    assert "2 caller(s): svc-1, svc-2 (2 of them starting)" in over[0].cause.detail
    assert over[0].cause.loads == ()  # none of the callers serves client requests: no client load


def test_the_cascade_graph_links_load_sources_to_what_they_pushed():
    t = [
        Transition(0, 0.0, "a", "healthy", None, Cause("init", "a", "initial")),
        Transition(1, 0.0, "b", "healthy", None, Cause("init", "b", "initial")),
        Transition(2, 5.0, "a", "down", "healthy", Cause("fault", "crash-1", "crash")),
        # b is overloaded by the retries of a's failures: crash → a down → (users' retries) → b overloaded
        Transition(3, 9.0, "b", "overloaded", "healthy", Cause(
            "mechanism", "b", "queueing", loads=(Load("retries", "users", "3.00 attempts per request", (2,)),))),
        # c by a surge and its clients' demand
        Transition(4, 9.5, "c", "overloaded", "healthy", Cause(
            "mechanism", "c", "queueing", loads=(Load("fault", "surge-1", "x2"),))),
        Transition(5, 9.6, "d", "overloaded", "healthy", Cause(
            "mechanism", "d", "queueing", loads=(Load("demand", "users"),))),
        # retries whose origin is not in the cascade (an init) push nothing
        Transition(6, 9.7, "e", "overloaded", "healthy", Cause(
            "mechanism", "e", "queueing", loads=(Load("retries", "users", "", (1,)),))),
        # the OOM kill of b names its own overload
        Transition(7, 9.8, "b", "down", "overloaded", Cause("mechanism", "b", "oom", parents=(3,))),
    ]
    log = [{"t_s": 5.0, "fault": "crash-1", "kind": "crash", "event": "start", "targets": ["a"]},
           {"t_s": 8.0, "fault": "surge-1", "kind": "surge", "event": "start", "targets": ["users"]}]
    g = cascade_graph(t, log)
    assert set(g.nodes) == {fault_node("crash-1"), fault_node("surge-1"), demand_node("users"),
                            2, 3, 4, 5, 7, "retries:users@3"}
    assert set(g.edges) == {(fault_node("crash-1"), 2), (2, "retries:users@3"), ("retries:users@3", 3),
                            (fault_node("surge-1"), 4), (demand_node("users"), 5), (3, 7)}
    gens = {n: g.nodes[n]["generation"] for n in (2, 3, 4, 5, 7)}
    assert gens == {2: 1, 3: 2, 4: 1, 5: 1, 7: 2}
    assert g.nodes[demand_node("users")]["kind"] == "demand"


def _one_replica(faults: list, rate_rps: float = 8.0):
    return parse_scenario({
        "name": "one-replica",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["api"]}],
                     "pools": [{"name": "api", "replicas": 1,
                                "server": {"mode": "plain", "concurrency": 1, "queue_capacity": 20,
                                           "service_time_s": {"kind": "exponential", "mean": 0.1}}}]},
        "workload": {"clients": [{"name": "users", "target": ["lb"], "timeout_s": 30,
                                  "arrival": {"kind": "poisson", "rate_rps": rate_rps}}]},
        "faults": faults,
        "policies": {"health_check": {"enabled": False}},
        "run": {"duration_s": 60, "warmup_s": 0, "bucket_s": 1, "seed": 1},
    })


def test_a_surge_roots_the_overload_it_causes():
    result = run(_one_replica([{"id": "surge-1", "kind": "surge", "target": {"name": "users"}, "at_s": 10,
                                "duration_s": 30, "multiplier": 2.0}]))
    over = [t for t in result.transitions if t.state == "overloaded"]
    surge = Load("fault", "surge-1", "arrival rate of users x2")
    during = [t for t in over if 10 <= t.t_s < 40]
    assert during and all(surge in t.cause.loads for t in during)
    # after the surge: what keeps it overloaded is the retries of the failures the surge caused
    assert all(surge not in t.cause.loads and any(x.kind == "retries" for x in t.cause.loads)
               for t in over if t.t_s >= 40)
    c = analyze_cascade(result)
    assert [r["fault"] for r in c["roots"]] == ["surge-1"] and c["direct_victims"] == ["api-0"]
    assert c["transitions"] >= len(over)


def test_demand_beyond_capacity_is_a_root_of_its_own():
    result = run(_one_replica([], rate_rps=16.0))
    over = [t for t in result.transitions if t.state == "overloaded"]
    assert over and over[0].cause.loads == (Load("demand", "users", "the workload's own demand"),)
    c = analyze_cascade(result)
    assert not c["empty"] and c["roots"][0]["fault"] == demand_node("users")
    assert c["roots"][0]["kind"] == "demand" and c["components"] == ["api-0"]


def test_the_load_sources_survive_the_run_directory(tmp_path):
    from sim.analysis import analyze
    from sim.analysis.rundir import load_run
    from sim.report.files import write_run

    result = run(_one_replica([{"id": "surge-1", "kind": "surge", "target": {"name": "users"}, "at_s": 10,
                                "duration_s": 30, "multiplier": 2.0}]))
    assert any(t.cause.loads for t in result.transitions)
    write_run(result, tmp_path, figures=False)
    assert [t.cause for t in load_run(tmp_path).transitions] == [t.cause for t in result.transitions]
    assert analyze(tmp_path)["cascade"] == analyze(result)["cascade"]


def test_a_states_file_with_a_broken_loads_cell_is_a_clean_error(tmp_path):
    from sim.analysis.rundir import RunDirError, read_transitions

    path = tmp_path / "states.csv"
    path.write_text("id,t_s,component,state,previous,cause_kind,cause_source,mechanism,detail,parents,loads\n"
                    "0,0,a,healthy,,init,a,initial,,,\"[[1,2]]\"\n", encoding="utf-8")
    with pytest.raises(RunDirError, match="loads"):
        read_transitions(path)
