"""Component behaviour: plain server, database pool, cache, balancing policies, health checks,
client retries and timeouts, crash fault lifecycle, discovery and network latency.

Most tests build a tiny scenario and check a figure that follows from the parameters (a formula or a
bound), or compare two runs that differ in one setting on the same seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sim import parse_scenario, run
from sim.assembly import build_stack
from sim.components.cache import Cache
from sim.components.database import Database
from sim.components.network import Network
from sim.components.plain_server import PlainServer
from sim.engine.distributions import Deterministic, Sampler
from sim.engine.request import Attempt, Request
from sim.engine.world import World
from sim.resilience.policies.balancing import BALANCERS
from sim.resilience.policies.retry import JITTERS, RetryPolicy
from sim.spec.policies import RetrySpec
from sim.spec.topology import NetworkSpec
from tests.helpers import merge


def scenario(**over: Any):
    """One client → one LB → a plain pool; no health checks, no retries, no timeout unless overridden."""
    base = {
        "name": "unit",
        "topology": {
            "zones": ["a", "b"],
            "load_balancers": [{"name": "lb", "zone": "a", "upstream": ["p"]}],
            "pools": [{"name": "p", "replicas": 1, "zones": ["a"],
                       "server": {"mode": "plain", "service_time_s": {"kind": "deterministic", "value": 0.1}}}],
        },
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
                                  "arrival": {"kind": "poisson", "rate_rps": 1.0}}]},
        "policies": {"health_check": {"enabled": False}},
        "run": {"duration_s": 100},
    }
    return parse_scenario(merge(base, over))


def pool(**server_over: Any) -> dict:
    """A topology override replacing the pool's fields (merged into the default pool)."""
    p = {"name": "p", "replicas": 1, "zones": ["a"],
         "server": {"mode": "plain", "service_time_s": {"kind": "deterministic", "value": 0.1}}}
    return merge(p, server_over)


def client(**over: Any) -> dict:
    """A client spec; ``arrival`` replaces the default process, other fields merge."""
    c = {"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
         "arrival": over.pop("arrival", {"kind": "poisson", "rate_rps": 1.0})}
    return merge(c, over)


def outcomes(result) -> dict[str, int]:
    return {k: v for k, v in result.summary["accounting"]["outcomes"].items() if v}


def transitions_of(result, component: str) -> list[tuple[float, str, str]]:
    return [(t.t_s, t.state, t.cause.mechanism) for t in result.transitions if t.component == component]


def _world(duration_s: float = 1_000.0) -> World:
    world = World(seed=1, duration_s=duration_s, bucket_s=1.0, warmup_s=0.0)
    world.network = Network(NetworkSpec(), ["a", "b"])
    return world


# --- plain server ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("concurrency", "expected"), [(1, [1.0, 2.0, 3.0, 4.0]), (2, [1.0, 1.01, 2.0, 2.01])])
def test_plain_server_fifo_slots(concurrency, expected):
    world = _world()
    service = Sampler(Deterministic(1.0), np.random.default_rng())
    server = PlainServer(world, "s", "p", "a", 100, 0.0, concurrency, service)
    done: dict[int, tuple[float, str]] = {}

    def arrive(i: int) -> None:
        req = Request(i, "c", 0, world.now, 1, 1)
        server.submit(Attempt(req, 1, world.now, lambda att, o: done.__setitem__(att.request.id, (world.now, o))))

    for i in range(4):
        world.call_later(0.01 * i if concurrency == 2 else 0.0, arrive, i)
    world.env.run(until=10)
    assert [done[i][0] for i in range(4)] == pytest.approx(expected)
    assert {o for _, o in done.values()} == {"success"}
    # time-average number in system: integral of (busy + waiting)
    arrived = [0.01 * i if concurrency == 2 else 0.0 for i in range(4)]
    assert server.area_in_system == pytest.approx(sum(t - a for t, a in zip(expected, arrived, strict=True)))


def test_plain_server_queue_bound_rejects():
    world = _world()
    server = PlainServer(world, "s", "p", "a", 2, 0.0, 1, Sampler(Deterministic(1.0), np.random.default_rng()))
    got: list[str] = []
    for i in range(5):
        server.submit(Attempt(Request(i, "c", 0, 0.0, 1, 1), 1, 0.0, lambda att, o: got.append(o)))
    world.env.run(until=10)
    # one in service, two waiting, two rejected
    assert sorted(got) == ["rejected", "rejected", "success", "success", "success"]
    assert server.outstanding == 0


def test_plain_server_latency_is_service_time_when_idle():
    res = run(scenario(workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 0.2})]}),
              seed=2, record_requests=True)
    rq = res.requests
    assert len(rq["latency_s"]) > 10
    # latency = wait + 0.1 s of service; nobody waits when the server is idle
    assert np.allclose(rq["latency_s"], rq["wait_s"] + 0.1)
    assert np.mean(rq["wait_s"] == 0) > 0.9


# --- database -------------------------------------------------------------------------------------------


def test_database_pool_limit_and_connect_timeout():
    world = _world()
    db = Database(world, "db", "a", pool_size=2, queue_capacity=10, connect_timeout_s=0.5,
                  service=Sampler(Deterministic(1.0), np.random.default_rng()))
    results: list[tuple[int, float, bool]] = []
    for i in range(4):
        db.call("a", lambda i, ok: results.append((i, world.now, ok)), i)
    world.env.run(until=10)
    by = {i: (t, ok) for i, t, ok in results}
    assert by[0] == (1.0, True) and by[1] == (1.0, True)
    assert by[2] == (0.5, False) and by[3] == (0.5, False)  # waited longer than connect_timeout_s
    assert db.failures == 2 and db.busy == 0


def test_database_wait_shorter_than_timeout_succeeds():
    world = _world()
    db = Database(world, "db", "a", pool_size=1, queue_capacity=10, connect_timeout_s=1.5,
                  service=Sampler(Deterministic(1.0), np.random.default_rng()))
    results: list[tuple[float, bool]] = []
    for _ in range(3):
        db.call("a", lambda ok: results.append((world.now, ok)))
    world.env.run(until=10)
    assert results == [(1.0, True), (1.5, False), (2.0, True)]


def test_database_round_trip_latency():
    world = World(seed=1, duration_s=10, bucket_s=1, warmup_s=0)
    world.network = Network(NetworkSpec(cross_zone_latency_ms=20), ["a", "b"])
    db = Database(world, "db", "a", 1, 10, 5.0, Sampler(Deterministic(0.1), np.random.default_rng()))
    got: list[float] = []
    db.call("b", lambda ok: got.append(world.now))
    world.env.run(until=10)
    assert got == [pytest.approx(0.1 + 2 * 0.020)]


def test_connect_timeout_becomes_dependency_error():
    sc = scenario(
        topology={"pools": [pool(database="db", db_calls_per_request=1)],
                  "databases": [{"name": "db", "pool_size": 1, "connect_timeout_s": 0.2,
                                 "service_time_s": {"kind": "deterministic", "value": 0.5}}]},
        workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 10.0})]},
        run={"duration_s": 30},
    )
    res = run(sc, seed=1)
    out = outcomes(res)
    assert out.get("dependency_error", 0) > 100
    assert out.get("success", 0) > 20
    db = res.summary["components"]["db"]
    assert db["failures"] == out["dependency_error"]


def test_db_calls_per_request():
    def queries(calls: int) -> tuple[int, int]:
        sc = scenario(topology={"pools": [pool(database="db", db_calls_per_request=calls)],
                                "databases": [{"name": "db"}]}, run={"duration_s": 200})
        res = run(sc, seed=4)
        return res.summary["components"]["db"]["queries"], res.summary["accounting"]["ended"]

    q1, n1 = queries(1)
    q3, n3 = queries(3)
    assert n1 == n3 and q1 == n1 and q3 == 3 * n3


# --- cache ---------------------------------------------------------------------------------------------


def test_cache_hit_miss_and_ttl():
    world = _world()
    db = Database(world, "db", "a", 10, 10, 5.0, Sampler(Deterministic(0.05), np.random.default_rng()))
    cache = Cache(world, "cache", "a", db, key_space=100, ttl_s=10.0, lookup_s=0.001)
    got: list[tuple[str, float, bool]] = []

    def call(tag: str, user: int) -> None:
        start = world.now
        cache.call_for(user, "a", lambda ok: got.append((tag, world.now - start, ok)))

    world.call_later(0.0, call, "miss", 7)
    world.call_later(1.0, call, "hit", 7)
    world.call_later(1.0, call, "other-key-miss", 8)
    world.call_later(2.0, call, "same-key-mod-keyspace-hit", 107)
    world.call_later(20.0, call, "expired-miss", 7)
    world.env.run(until=30)
    lat = {tag: (dt, ok) for tag, dt, ok in got}
    assert lat["miss"] == (pytest.approx(0.05), True)
    assert lat["hit"] == (pytest.approx(0.001), True)
    assert lat["other-key-miss"][0] == pytest.approx(0.05)
    assert lat["same-key-mod-keyspace-hit"][0] == pytest.approx(0.001)
    assert lat["expired-miss"][0] == pytest.approx(0.05)
    assert (cache.hits, cache.misses) == (2, 3)
    cache.flush()
    call("after-flush", 7)
    world.env.run(until=40)
    assert cache.misses == 4


def test_cache_in_a_run_hit_ratio_grows_with_fewer_users():
    def ratio(users: int) -> float:
        sc = scenario(topology={"pools": [pool(database="cache")], "databases": [{"name": "db"}],
                                "caches": [{"name": "cache", "database": "db", "ttl_s": 1000}]},
                      workload={"clients": [client(users=users, arrival={"kind": "poisson", "rate_rps": 5.0})]})
        res = run(sc, seed=1)
        c = res.summary["components"]["cache"]
        assert res.summary["components"]["db"]["queries"] == c["misses"]
        return c["hit_ratio"]

    few, many = ratio(10), ratio(100_000)
    assert few > 0.95 and many < 0.1


# --- load balancing -----------------------------------------------------------------------------------


CORE_BALANCERS = ("round_robin", "random", "least_outstanding", "power_of_two")


class FakeServer:
    def __init__(self, name: str, outstanding: int = 0):
        self.name = name
        self.zone = "a"
        self.outstanding = outstanding


def _attempt(i: int = 0) -> Attempt:
    return Attempt(Request(i, "c", i, 0.0, 10, 10), 1, 0.0, lambda att, o: None)


@pytest.mark.parametrize("kind", BALANCERS.names())
def test_balancer_contract(kind):
    """Every registered policy picks only from the candidates given and spreads load over a pool."""
    servers = [FakeServer(f"s{i}") for i in range(6)]
    bal = BALANCERS.create(kind, np.random.default_rng(3), 2)
    candidates = servers[1:5]  # a rotation that excludes some replicas
    counts = {s.name: 0 for s in servers}
    for i in range(4_000):
        chosen = bal.pick(candidates, _attempt(i))
        assert chosen in candidates
        counts[chosen.name] += 1
        chosen.outstanding += 1  # work arrives and stays
    assert counts["s0"] == counts["s5"] == 0
    picked = [counts[s.name] for s in candidates]
    assert min(picked) > 0.15 * 4_000, f"{kind} does not spread load: {picked}"
    # a single candidate is chosen, unless the policy refuses it (documented: a shard or zone without it)
    single = {bal.pick([servers[0]], _attempt(i)) for i in range(10)}
    assert single <= {servers[0], None}
    if kind in CORE_BALANCERS:
        assert single == {servers[0]}


def test_power_of_two_prefers_less_loaded():
    servers = [FakeServer("idle", 0)] + [FakeServer(f"busy{i}", 10) for i in range(3)]
    bal = BALANCERS.create("power_of_two", np.random.default_rng(1), 2)
    n = 20_000
    share = sum(bal.pick(servers, _attempt()) is servers[0] for _ in range(n)) / n
    expected = 1 - (3 / 4) ** 2  # the idle one is in at least one of two uniform samples
    print(f"\npower_of_two: idle replica share {share:.4f}, analytic {expected:.4f}, uniform 0.25")
    assert share == pytest.approx(expected, abs=5 * math.sqrt(expected * (1 - expected) / n))


def test_least_outstanding_picks_minimum_and_round_robin_cycles():
    servers = [FakeServer("a", 3), FakeServer("b", 1), FakeServer("c", 2)]
    lo = BALANCERS.create("least_outstanding", np.random.default_rng(), 2)
    assert all(lo.pick(servers, _attempt()).name == "b" for _ in range(5))
    tied = [FakeServer("x"), FakeServer("y"), FakeServer("z")]
    assert {lo.pick(tied, _attempt()).name for _ in range(3)} == {"x", "y", "z"}  # ties rotate
    rr = BALANCERS.create("round_robin", np.random.default_rng(), 2)
    names = [rr.pick(servers, _attempt()).name for _ in range(6)]
    assert sorted(names[:3]) == ["a", "b", "c"] and names[:3] == names[3:]


def test_unknown_balancer_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown balancing policy 'nope'"):
        BALANCERS.create("nope", np.random.default_rng(), 2)


@pytest.mark.parametrize("kind", CORE_BALANCERS)
def test_balancing_in_a_run_uses_every_replica(kind):
    sc = scenario(topology={"pools": [pool(replicas=4)]}, policies={"balancing": {"kind": kind}},
                  workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 20.0})]}, run={"duration_s": 50})
    res = run(sc, seed=1)
    done = [res.summary["components"][f"p-{i}"]["completed"] for i in range(4)]
    assert sum(done) == res.summary["accounting"]["outcomes"]["success"]
    assert min(done) > 0.15 * sum(done)


# --- health checks and the crash fault ---------------------------------------------------------------------


def _crash_scenario(**over: Any):
    return scenario(**merge({
        "topology": {"pools": [pool(replicas=2, server={"model_load_s": 3.0})]},
        "policies": {"health_check": {"enabled": True, "period_s": 1.0, "failure_threshold": 3,
                                      "success_threshold": 1}},
        "workload": {"clients": [client(arrival={"kind": "poisson", "rate_rps": 5.0})]},
        "faults": [{"id": "boom", "kind": "crash", "target": {"name": "p-0"}, "at_s": 10.25, "restart": True,
                    "restart_delay_s": 5.0}],
        "run": {"duration_s": 40},
    }, over))


def test_crash_lifecycle_down_starting_healthy():
    res = run(_crash_scenario(), seed=1)
    tr = [(t, s) for t, s, _ in transitions_of(res, "p-0")]
    assert tr[0] == (0.0, "healthy")
    assert tr[1] == (10.25, "down")
    assert tr[2] == (pytest.approx(15.25), "starting")
    assert tr[3] == (pytest.approx(18.25), "healthy")
    down = next(t for t in res.transitions if t.component == "p-0" and t.state == "down")
    assert down.cause.kind == "fault" and down.cause.source == "boom"
    starting = next(t for t in res.transitions if t.component == "p-0" and t.state == "starting")
    assert down.id in starting.cause.parents
    assert [e["event"] for e in res.fault_log] == ["start", "end"]  # a crash with restart is instant
    assert res.fault_log[0]["targets"] == ["p-0"]


def test_crash_without_restart_stays_down_until_fault_ends():
    sc = _crash_scenario(faults=[{"id": "boom", "kind": "crash", "target": {"name": "p-0"}, "at_s": 10.25,
                                  "duration_s": 10, "restart": False}])
    res = run(sc, seed=1)
    tr = [(t, s) for t, s, _ in transitions_of(res, "p-0")]
    assert tr[1:] == [(10.25, "down"), (20.25, "starting"), (pytest.approx(23.25), "healthy")]


def test_health_check_ejects_and_restores():
    res = run(_crash_scenario(), seed=1)
    lb = [(t.t_s, t.state, t.cause.detail) for t in res.transitions if t.component == "lb"]
    ejected = [(t, s) for t, s, d in lb if "ejected p-0" in d]
    restored = [(t, s) for t, s, d in lb if "restored p-0" in d]
    assert len(ejected) == 1 and len(restored) == 1
    t_eject, state = ejected[0]
    # failure_threshold (3) consecutive failed probes, one per period (1 s), the first after the crash
    assert state == "degraded"
    assert 10.25 + 2.0 < t_eject <= 10.25 + 3.0
    t_back, state = restored[0]
    assert state == "healthy"
    assert 18.25 <= t_back < 18.25 + 1.0  # first probe after the cold start ends (success_threshold 1)
    # while it was down but not yet ejected, attempts routed to it failed; after ejection none did
    res_rq = run(_crash_scenario(), seed=1, record_requests=True).requests
    failed_at = res_rq["end_s"][res_rq["outcome"] == "server_error"]
    assert len(failed_at) > 0
    assert failed_at.min() >= 10.25 and failed_at.max() <= t_eject


def test_no_healthy_upstream_when_all_ejected():
    sc = _crash_scenario(faults=[{"id": "all", "kind": "crash", "target": {"pool": "p"}, "at_s": 5.0,
                                  "restart": False}])
    res = run(sc, seed=1, record_requests=True)
    rq = res.requests
    late = rq["outcome"][rq["arrival_s"] > 10.0]
    assert len(late) > 50 and set(late.tolist()) == {"no_healthy_upstream"}
    lb_states = [s for _, s, _ in transitions_of(res, "lb")]
    assert lb_states[-1] == "down"


# --- client: retries, backoff, jitter, timeouts ------------------------------------------------------------


def test_backoff_growth_and_cap():
    spec = RetrySpec(max_attempts=10, backoff_base_s=0.1, multiplier=3.0, backoff_cap_s=2.0, jitter="none")
    policy = RetryPolicy(spec, np.random.default_rng(1))
    waits = [policy.backoff_s(n) for n in range(1, 7)]
    assert waits == pytest.approx([0.1, 0.3, 0.9, 2.0, 2.0, 2.0])


def test_max_attempts():
    spec = RetrySpec(max_attempts=3, jitter="none")
    policy = RetryPolicy(spec, np.random.default_rng(1))
    assert policy.should_retry("server_error", 1) and policy.should_retry("timeout", 2)
    assert not policy.should_retry("server_error", 3)
    assert not policy.should_retry("cancelled", 1)


@pytest.mark.parametrize("jitter", JITTERS.names())
def test_jitter_contract(jitter):
    """Every registered jitter stays within [0, cap], is random unless it is 'none', and grows on average."""
    spec = RetrySpec(max_attempts=10, backoff_base_s=0.2, multiplier=2.0, backoff_cap_s=3.0, jitter=jitter)
    policy = RetryPolicy(spec, np.random.default_rng(5))
    means = []
    for n in range(1, 8):
        wait = min(spec.backoff_cap_s, spec.backoff_base_s * spec.multiplier ** (n - 1))
        x = np.array([policy.backoff_s(n) for _ in range(2_000)])
        assert x.min() >= 0.0 and x.max() <= spec.backoff_cap_s + 1e-12
        if jitter == "none":
            assert np.all(x == wait)
        else:
            assert x.std() > 0
        if jitter == "full":
            assert x.max() <= wait and x.mean() == pytest.approx(wait / 2, rel=0.1)
        if jitter == "equal":
            assert x.min() >= wait / 2 and x.max() <= wait
        means.append(x.mean())
    assert means[-1] > means[0]


def test_retries_in_a_run_follow_backoff():
    """Every attempt fails at once (the replica is down and stays in rotation): latency = sum of backoffs."""
    sc = scenario(
        workload={"clients": [client(retry={"max_attempts": 4, "backoff_base_s": 0.1, "multiplier": 2.0,
                                            "backoff_cap_s": 0.25, "jitter": "none"})]},
        faults=[{"id": "down", "kind": "crash", "target": {"pool": "p"}, "at_s": 0.0, "restart": False}],
        run={"duration_s": 50},
    )
    res = run(sc, seed=1, record_requests=True)
    rq = res.requests
    assert len(rq["id"]) > 20
    assert set(rq["outcome"].tolist()) == {"server_error"}
    assert set(rq["attempts"].tolist()) == {4}
    assert np.allclose(rq["latency_s"], 0.1 + 0.2 + 0.25)
    assert res.summary["attempts"] >= 4 * len(rq["id"])


def test_full_jitter_in_a_run_is_bounded():
    sc = scenario(
        workload={"clients": [client(retry={"max_attempts": 2, "backoff_base_s": 1.0, "jitter": "full"})]},
        faults=[{"id": "down", "kind": "crash", "target": {"pool": "p"}, "at_s": 0.0, "restart": False}],
        run={"duration_s": 200},
    )
    lat = run(sc, seed=1, record_requests=True).requests["latency_s"]
    assert lat.min() >= 0 and lat.max() <= 1.0 and lat.std() > 0.2


def _timeout_scenario(cancel: bool, mode: str):
    if mode == "plain":
        server = {"mode": "plain", "service_time_s": {"kind": "deterministic", "value": 2.0}, "concurrency": 1}
        tokens = {}
    else:
        server = {"mode": "llm", "model_load_s": 0, "max_batch_size": 2}
        tokens = {"prompt_tokens": {"kind": "deterministic", "value": 500},
                  "output_tokens": {"kind": "deterministic", "value": 400}}
    return scenario(
        topology={"pools": [{"name": "p", "replicas": 1, "zones": ["a"], "server": server}]},
        workload={"clients": [client(timeout_s=1.0, cancel_on_timeout=cancel,
                                     arrival={"kind": "poisson", "rate_rps": 0.3}, **tokens)]},
        run={"duration_s": 100},
    )


@pytest.mark.parametrize("mode", ["plain", "llm"])
def test_timeout_server_keeps_working_by_default_and_cancel_stops_it(mode):
    keep = run(_timeout_scenario(False, mode), seed=1)
    stop = run(_timeout_scenario(True, mode), seed=1)
    for res in (keep, stop):
        assert set(outcomes(res)) == {"timeout"}  # every attempt outlives the 1 s timeout
    assert keep.summary["accounting"]["arrivals"] == stop.summary["accounting"]["arrivals"]  # same seed, same arrivals
    worked = keep.summary["components"]["p-0"]["completed"]
    cancelled = stop.summary["components"]["p-0"]["completed"]
    print(f"\n{mode}: work completed for abandoned attempts: {worked} kept vs {cancelled} with cancel_on_timeout")
    assert worked >= keep.summary["accounting"]["arrivals"] - 5
    if mode == "llm":
        assert cancelled == 0  # running requests leave the batch at the next iteration boundary
    else:
        # a running plain request finishes (no preemption); waiting ones are dropped at the head
        assert cancelled < worked


def test_timeout_latency_equals_timeout():
    res = run(_timeout_scenario(False, "plain"), seed=2, record_requests=True)
    assert np.allclose(res.requests["latency_s"], 1.0)


# --- discovery and network -------------------------------------------------------------------------------


def test_discovery_ttl_and_failure_after_ttl():
    sc = scenario(topology={"discovery": {"ttl_s": 10.0}},
                  workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 20.0})]})
    world = World(sc.run.seed, sc.run.duration_s, sc.run.bucket_s, 0.0, record_requests=True)
    stack = build_stack(sc, world)
    world.call_later(50.0, setattr, stack.discovery, "available", False)
    world.env.run(until=sc.run.duration_s)
    recs = world.metrics.records
    errors = [r[4] for r in recs if r[5] == "network_error"]
    assert errors, "requests must fail once the cached record expires"
    # cached records hide the failure for up to one TTL
    assert 50.0 <= min(errors) <= 60.0
    assert not any(r[5] == "network_error" for r in recs if r[4] < 50.0)
    # while discovery answered, one lookup per TTL
    assert stack.discovery.lookups >= 5


def test_discovery_lookups_one_per_ttl():
    sc = scenario(topology={"discovery": {"ttl_s": 10.0}},
                  workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 20.0})]})
    res = run(sc, seed=1)
    assert res.summary["components"]["discovery"]["lookups"] in (10, 11)


def test_network_latency_adds_to_latency():
    def latencies(**topology: Any) -> np.ndarray:
        sc = scenario(topology=merge({"network": {"cross_zone_latency_ms": 50.0, "same_zone_latency_ms": 1.0}},
                                     topology),
                      workload={"clients": [client(zone="a", arrival={"kind": "poisson", "rate_rps": 0.1})]})
        return run(sc, seed=3, record_requests=True).requests["latency_s"]

    same = latencies()  # client, LB and server all in zone a: 2 hops of 1 ms each way
    assert np.allclose(same, 0.1 + 2 * 2 * 0.001)
    cross = latencies(pools=[pool(zones=["b"])])  # LB → server crosses zones
    assert np.allclose(cross, 0.1 + 2 * (0.001 + 0.050))
    linked = latencies(pools=[pool(zones=["b"])], network={"links": [{"zones": ["a", "b"], "latency_ms": 5.0}]})
    assert np.allclose(linked, 0.1 + 2 * (0.001 + 0.005))


def test_client_without_zone_has_no_latency_to_lb():
    sc = scenario(topology={"network": {"cross_zone_latency_ms": 50.0, "same_zone_latency_ms": 0.0}},
                  workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 0.1})]})
    assert np.allclose(run(sc, seed=3, record_requests=True).requests["latency_s"], 0.1)


def test_partition_gives_network_error():
    sc = scenario(topology={"pools": [pool(zones=["b"])]})
    world = World(1, 100.0, 1.0, 0.0, record_requests=True)
    build_stack(sc, world)
    world.network.partition("cut", "a", "b", components=False)
    world.env.run(until=100.0)
    assert {r[5] for r in world.metrics.records} == {"network_error"}


# --- workload: arrival processes ----------------------------------------------------------------------------


def _arrivals(arrival: dict, duration_s: float = 200.0, seed: int = 1, **client_over: Any) -> np.ndarray:
    sc = scenario(topology={"pools": [pool(server={"service_time_s": {"kind": "deterministic", "value": 0.001},
                                                   "concurrency": 64})]},
                  workload={"clients": [client(arrival=arrival, **client_over)]}, run={"duration_s": duration_s})
    res = run(sc, seed=seed, record_requests=True)
    assert res.summary["accounting"]["in_flight_at_end"] <= 64
    return np.sort(res.requests["arrival_s"]), res


def test_poisson_rate_and_schedule():
    t, res = _arrivals({"kind": "poisson", "rate_rps": 10.0, "schedule": [{"at_s": 100, "rate_rps": 40.0},
                                                                          {"at_s": 150, "rate_rps": 0.0}]})
    before, middle, after = (t < 100).sum(), ((t >= 100) & (t < 150)).sum(), (t >= 150).sum()
    print(f"\npoisson schedule: {before} arrivals in 0-100 s (expect 1000), {middle} in 100-150 s (expect 2000)")
    assert abs(before - 1000) < 5 * math.sqrt(1000)
    assert abs(middle - 2000) < 5 * math.sqrt(2000)
    assert after == 0
    gaps = np.diff(t[t < 100])
    assert np.std(gaps) / np.mean(gaps) == pytest.approx(1.0, abs=0.1)  # exponential gaps: cv 1


def test_gamma_arrivals_have_the_given_cv():
    t, _ = _arrivals({"kind": "gamma", "rate_rps": 20.0, "cv": 3.0}, duration_s=500.0)
    gaps = np.diff(t)
    print(f"\ngamma arrivals: mean gap {gaps.mean():.4f} s (expect 0.05), cv {gaps.std() / gaps.mean():.3f} (expect 3)")
    assert gaps.mean() == pytest.approx(0.05, rel=0.1)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.15)


def test_trace_replay_with_time_scale_and_tokens():
    from sim.engine.traces import load_trace

    trace = load_trace("builtin:azure_conv")
    scale = 0.01  # 58 minutes replayed in 35 s
    t, res = _arrivals({"kind": "trace", "path": "builtin:azure_conv", "time_scale": scale}, duration_s=40.0)
    assert len(t) == len(trace.offsets_s) == res.summary["accounting"]["arrivals"]
    assert np.allclose(t, trace.offsets_s * scale)
    rq = res.requests
    order = np.argsort(rq["arrival_s"], kind="stable")
    assert np.array_equal(rq["prompt_tokens"][order], trace.prompt_tokens)
    assert np.array_equal(rq["output_tokens"][order], trace.output_tokens)


def test_trace_loop_and_sampled_tokens():
    scale = 0.005  # one pass lasts about 17.5 s
    t, res = _arrivals({"kind": "trace", "time_scale": scale, "loop": True, "use_trace_tokens": False},
                       duration_s=36.0, prompt_tokens={"kind": "deterministic", "value": 7})
    assert 2 * 19_366 <= len(t) < 2.1 * 19_366
    assert set(res.requests["prompt_tokens"].tolist()) == {7}


def test_llm_ttft_includes_network_latency():
    sc = scenario(
        topology={"network": {"cross_zone_latency_ms": 40.0},
                  "pools": [{"name": "p", "replicas": 1, "zones": ["b"],
                             "server": {"mode": "llm", "model_load_s": 0}}]},
        workload={"clients": [client(zone="a", arrival={"kind": "poisson", "rate_rps": 0.05},
                                     prompt_tokens={"kind": "deterministic", "value": 1000},
                                     output_tokens={"kind": "deterministic", "value": 2})]},
        run={"duration_s": 400},
    )
    rq = run(sc, seed=1, record_requests=True).requests
    spec = sc.topology.pools[0].server
    prefill = spec.prefill_base_s + spec.prefill_per_token_s * 1000
    decode = spec.decode_base_s + spec.decode_per_seq_s + spec.decode_per_context_token_s * 1001
    assert len(rq["ttft_s"]) > 5
    assert np.allclose(rq["ttft_s"], prefill + 2 * 0.040)
    assert np.allclose(rq["latency_s"], prefill + decode + 2 * 0.040)


# --- state machine, blame links, measured window ------------------------------------------------------------


def test_overload_hysteresis_on_the_waiting_queue():
    """overloaded at 90 % of the queue bound, healthy again at 50 %, each with the queueing mechanism."""
    sc = scenario(
        topology={"pools": [pool(server={"queue_capacity": 10,
                                         "service_time_s": {"kind": "deterministic", "value": 1.0}})]},
        workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 3.0,
                                              "schedule": [{"at_s": 20, "rate_rps": 0.0}]})]},
        run={"duration_s": 60},
    )
    res = run(sc, seed=1)
    tr = transitions_of(res, "p-0")
    states = [s for _, s, _ in tr]
    assert "overloaded" in states and states[-1] == "healthy"
    assert all(m == "queueing" for _, s, m in tr[1:])
    t_over = next(t for t, s, _ in tr if s == "overloaded")
    t_back = [t for t, s, _ in tr if s == "healthy"][-1]
    assert t_over < 20 < t_back
    assert outcomes(res).get("rejected", 0) > 0


def test_lb_ejection_names_the_replica_transition():
    res = run(_crash_scenario(), seed=1)
    down = next(t for t in res.transitions if t.component == "p-0" and t.state == "down")
    eject = next(t for t in res.transitions if t.component == "lb" and "ejected p-0" in t.cause.detail)
    assert eject.cause.kind == "mechanism" and eject.cause.mechanism == "health_check"
    assert down.id in eject.cause.parents


def test_warmup_excludes_early_failures_from_the_measured_window():
    sc = scenario(
        topology={"pools": [pool(server={"model_load_s": 0.0})]},
        faults=[{"id": "early", "kind": "crash", "target": {"pool": "p"}, "at_s": 0.0, "duration_s": 5.0,
                 "restart": False}],
        workload={"clients": [client(arrival={"kind": "poisson", "rate_rps": 5.0})]},
        run={"duration_s": 60, "warmup_s": 10},
    )
    res = run(sc, seed=1)
    assert res.summary["accounting"]["outcomes"]["server_error"] > 5
    measured = res.summary["measured"]
    assert measured["availability"] == 1.0 and measured["failures"] == {}
    assert measured["outcomes"]["success"] == measured["ended"] < res.summary["accounting"]["ended"]


def test_result_to_pandas():
    pd = pytest.importorskip("pandas")
    res = run(scenario(run={"duration_s": 20}), seed=1)
    df = res.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 20
    assert int(df["arrivals"].sum()) == res.summary["accounting"]["arrivals"]
