"""Connections opened on demand (sim/components/connections.py, databases[].connections): processor-shared
setup work, callers who give up and retry, connections dropped by a connection surge."""

from __future__ import annotations

import pytest

from sim.components.connections import ConnectionSetup
from sim.components.database import Database
from sim.engine.distributions import Deterministic, Sampler
from sim.engine.timeline import Cause
from sim.engine.world import World
from sim.experiment.run import run_with_stack
from sim.spec.loader import ScenarioError, parse_scenario


def setup(n: int, cpus: int = 2, work_s: float = 0.1, timeout_s: float = 10.0) -> tuple[World, ConnectionSetup]:
    world = World(1, 100.0, 1.0, 0.0)
    conn = ConnectionSetup(world, Sampler(Deterministic(work_s), world.streams.get("db", "setup")), cpus, timeout_s)
    return world, conn


def test_setups_share_the_processors_n_at_once_each_take_n_work_over_cpus():
    world, conn = setup(0)
    done: list[tuple[float, bool]] = []
    for _ in range(10):
        conn.connect(lambda ok: done.append((world.env.now, ok)))
    world.env.run(until=5)
    assert len(done) == 10 and all(ok for _, ok in done)
    assert [t for t, _ in done] == pytest.approx([10 * 0.1 / 2] * 10)  # all together at n w / c = 0.5 s


def test_a_setup_joining_later_shares_from_then_on():
    world, conn = setup(0, cpus=1, work_s=1.0)
    done: dict[str, float] = {}
    conn.connect(lambda ok: done.setdefault("a", world.env.now))
    world.call_later(0.5, conn.connect, lambda ok: done.setdefault("b", world.env.now))
    world.env.run(until=10)
    # a: 0.5 s alone, then 0.5 s of work at half speed -> 1.5 s; b: 0.5 s of work by 1.5 s, then alone -> 2.0 s
    assert done == pytest.approx({"a": 1.5, "b": 2.0})


def test_a_caller_who_gives_up_fails_at_its_timeout_and_the_setup_still_runs():
    world, conn = setup(0, cpus=1, work_s=1.0, timeout_s=2.0)
    done: list[tuple[float, bool]] = []
    for _ in range(3):
        conn.connect(lambda ok: done.append((world.env.now, ok)))
    world.env.run(until=10)
    assert done == [(2.0, False)] * 3  # 3 s of shared work: every caller gave up at 2 s
    assert conn.report() == {"started": 3, "completed": 0, "wasted": 3, "timeouts": 3}


def test_a_promoted_standby_starts_with_no_setups_in_progress_and_the_pooler_opens_its_pool_once():
    """The standby is another machine: the old primary's setups in progress stay behind and the pooler opens
    its pool_min connections on the new primary once (failed before: the old backlog kept the new primary's
    processors busy, and a promotion while the primary answered opened the pool twice)."""
    world, conn = setup(0, cpus=1, work_s=1.0, timeout_s=2.0)
    query = Sampler(Deterministic(0.01), world.streams.get("db", "query"))
    db = Database(world, "db", "zone-a", pool_size=100, queue_capacity=10, connect_timeout_s=1.0, service=query,
                  connections=conn, pool_min=30)
    db.drop_connections()  # the pooler reopens its 30 at once: 30 s of setup work on one processor
    world.env.run(until=0.5)
    assert conn.in_progress == 30
    db.promote("zone-b", set(), Cause("mechanism", "db", "replica_promotion", "standby promoted"))
    assert conn.in_progress == 30 and db.zone == "zone-b"  # the pooler's 30 on the new primary, nothing else
    world.env.run(until=50)
    assert db.established == 0 and conn.report()["completed"] == 0  # 30 at once take 30 s: all timed out
    assert conn.report()["timeouts"] == 60  # the old primary's 30 and the new one's 30, each caller once


def db_scenario(**connections) -> dict:
    return {
        "name": "connections",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["app"]}],
            "pools": [{"name": "app", "replicas": 2, "database": "db",
                       "server": {"mode": "plain", "concurrency": 16,
                                  "service_time_s": {"kind": "exponential", "mean": 0.01}}}],
            "databases": [{"name": "db", "pool_size": 100, "service_time_s": {"kind": "exponential", "mean": 0.01},
                           "connections": connections}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": 20,
                                  "arrival": {"kind": "poisson", "rate_rps": 10}}]},
        "run": {"duration_s": 120, "seed": 2, "bucket_s": 10},
    }


def test_connections_open_on_demand_and_are_reused():
    result, stack = run_with_stack(parse_scenario(db_scenario()))
    db = stack.by_name["db"]
    opened = db.report()["connections"]
    assert result.summary["measured"]["outcomes"]["success"] == result.summary["measured"]["ended"]
    assert 0 < opened["open"] < 10 and opened["completed"] == opened["open"]  # a few, reused by ~1,200 queries


def test_a_connection_surge_drops_every_connection_and_the_pooler_reopens_them_at_once():
    data = db_scenario(pool_min=40, setup_s=0.01, cpus=4)
    data["faults"] = [{"id": "surge", "kind": "connection_surge", "target": {"name": "db"}, "at_s": 60}]
    result, stack = run_with_stack(parse_scenario(data))
    opened = stack.by_name["db"].report()["connections"]
    assert opened["started"] >= 40 and opened["open"] >= 40  # 40 x 0.01 / 4 = 0.1 s: reopened in time
    mark = [t for t in result.transitions if t.component == "db" and t.cause.source == "surge"]
    assert len(mark) == 1 and mark[0].t_s == 60


def test_a_connection_surge_needs_a_database_with_connections():
    data = db_scenario()
    del data["topology"]["databases"][0]["connections"]
    data["faults"] = [{"id": "surge", "kind": "connection_surge", "target": {"name": "db"}, "at_s": 60}]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "faults[0].target: matches no database with connections" in str(err.value)
