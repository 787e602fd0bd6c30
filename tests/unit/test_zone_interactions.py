"""Zone outages meeting the mechanisms that move or add capacity: database promotion and autoscaling."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from sim.resilience.controllers.autoscaler import TERMINATION_GRACE_S, HorizontalPodAutoscaler
from sim.spec.loader import parse_scenario_text
from sim.spec.policies import AutoscalingSpec
from tests.helpers import FakeWorld, run_live

DB_STACK = """
name: zones
topology:
  zones: [a, b]
  load_balancers:
    - {name: lb, zone: a, upstream: [p]}
  pools:
    - {name: p, replicas: 2, zones: [a], database: db,
       server: {mode: plain, concurrency: 2, service_time_s: {kind: exponential, mean: 0.1}, model_load_s: 5}}
  databases:
    - {name: db, zone: a, connect_timeout_s: 1.0, replica: {zone: b, detection_s: 10, promotion_s: 5}}
workload:
  clients:
    - {name: u, target: [lb], arrival: {kind: poisson, rate_rps: 2}, timeout_s: 5}
faults: []
policies:
  retry: {max_attempts: 1}
run: {duration_s: 150, seed: 1, bucket_s: 5}
"""


def run_db(faults: list[dict], standby_zone: str = "b", duration_s: float = 150.0):
    d = yaml.safe_load(DB_STACK)
    d["topology"]["databases"][0]["replica"]["zone"] = standby_zone
    d["faults"] = faults
    d["run"]["duration_s"] = duration_s
    return run_live(parse_scenario_text(yaml.safe_dump(d)))


def promotions(result) -> list[tuple[float, str, str]]:
    return [(t.t_s, t.state, t.cause.detail) for t in result.transitions
            if t.component == "db" and t.cause.mechanism == "replica_promotion"]


def test_standby_in_the_dead_zone_waits_for_the_zone():
    """The standby shares the primary's zone: nothing to promote until the zone is back."""
    faults = [{"id": "z", "kind": "zone_outage", "zone": "a", "at_s": 20, "duration_s": 80},
              {"id": "fo", "kind": "database_failover", "target": {"name": "db"}, "at_s": 30}]
    same = run_db(faults, standby_zone="a")
    other = run_db(faults, standby_zone="b")  # control: a live standby is promoted inside the outage
    assert [p[0] for p in promotions(other)] and all(t < 100 for t, _, _ in promotions(other))
    promoted = promotions(same)
    assert len(promoted) == 1 and promoted[0][0] >= 100 and promoted[0][1] == "healthy"
    db = same.components["db"]
    assert db.available and not db.holds and db.zone == "a"


def test_promotion_never_into_a_zone_that_is_out():
    """Zone a out 30-50 (db moves to b), zone b out 70-130: the db goes back to a, not into dead b."""
    result = run_db([{"id": "za", "kind": "zone_outage", "zone": "a", "at_s": 30, "duration_s": 20},
                     {"id": "zb", "kind": "zone_outage", "zone": "b", "at_s": 70, "duration_s": 60}])
    outages = {"a": (30.0, 50.0), "b": (70.0, 130.0)}
    promoted = promotions(result)
    assert len(promoted) == 2
    for t_s, state, detail in promoted:
        zone = detail.split("standby in ")[1].split()[0]
        start_s, end_s = outages[zone]
        assert state == "healthy" and not start_s <= t_s < end_s, (t_s, detail)
    assert [p[2].split()[2] for p in promoted] == ["b", "a"]
    db = result.components["db"]
    assert db.zone == "a" and db.available and not db.holds


def test_no_second_promotion_once_the_old_primary_is_lost():
    """A database failover loses the primary for good: it cannot be the standby for the next failure."""
    result = run_db([{"id": "f1", "kind": "database_failover", "target": {"name": "db"}, "at_s": 20},
                     {"id": "f2", "kind": "database_failover", "target": {"name": "db"}, "at_s": 60}], duration_s=110)
    promoted = promotions(result)
    assert len(promoted) == 1 and promoted[0][0] < 60
    db = result.components["db"]
    assert not db.available and db.zone == "b"


AUTOSCALED = """
name: zones-hpa
topology:
  zones: [a, b]
  load_balancers:
    - {name: lb, zone: a, upstream: [p]}
  pools:
    - {name: p, replicas: 2, zones: [a, b],
       server: {mode: plain, concurrency: 2, service_time_s: {kind: exponential, mean: 0.1}, model_load_s: 5},
       autoscaling: {enabled: true, target: 0.3, sync_period_s: 5, provisioning_delay_s: 5, max_replicas: 8,
                     scale_down_stabilization_s: 200}}
workload:
  clients:
    - {name: u, target: [lb], arrival: {kind: poisson, rate_rps: 20}, timeout_s: 10}
faults:
  - {id: z, kind: zone_outage, zone: b, at_s: 10, duration_s: 40}
policies:
  health_check: {period_s: 2, failure_threshold: 2}
run: {duration_s: 70, seed: 1, bucket_s: 5}
"""


def test_replica_added_in_a_dead_zone_stays_down_until_the_zone_is_back():
    result = run_live(parse_scenario_text(AUTOSCALED))
    added_b = [n for n, c in result.components.items()
               if n.startswith("p-") and int(n[2:]) >= 2 and c.zone == "b"]
    assert added_b  # the autoscaler did add replicas in zone b during the outage
    for name in added_b:
        comp = result.components[name]
        serving = [t.t_s for t in result.transitions if t.component == name
                   and t.state in ("starting", "healthy", "overloaded", "degraded") and t.cause.kind != "init"]
        assert serving and all(t_s >= 50.0 for t_s in serving), (name, serving)
        assert comp.state == "healthy" and not comp.holds  # released when zone b came back



class Replica(SimpleNamespace):
    """A replica stub recording its states; its port verbs do what a replica's lifecycle does."""

    @property
    def serving(self) -> bool:
        return self.state in ("healthy", "draining")

    def queue_length(self) -> int:
        return 0

    def _move(self, state: str) -> None:
        self.state = state
        self.history.append(state)

    def crash(self, cause, restart_after_s) -> None:
        self._move("down")

    def start(self, reason: str = "") -> None:
        self._move("starting")

    def hold(self, key: str, cause) -> None:
        self.held_down.add(key)
        if cause is not None:
            self.crash(cause, None)

    def drain(self, cause, on_drained, grace_s=None, first_check_s=1.0) -> None:
        if self.serving:
            self._move("draining")
        since_s = self.world.now

        def _drain_check() -> None:
            busy = self.outstanding > 0 and self.state == "draining"
            if busy and (grace_s is None or self.world.now - since_s < grace_s):
                self.world.call_later(1.0, _drain_check)
                return
            on_drained(busy)

        self.world.call_later(first_check_s, _drain_check)


WORLD = FakeWorld()


def replica(name: str, state: str, outstanding: int = 0) -> Replica:
    return Replica(name=name, state=state, outstanding=outstanding, model_load_s=0.0, incarnation=0,
                   held_down=set(), history=[state], zone="a", world=WORLD)


def scaled_down(replicas: list[Replica]) -> tuple[FakeWorld, HorizontalPodAutoscaler]:
    """Five replicas, min 2, idle: the first sync (15 s) removes the last three."""
    world = FakeWorld()
    for r in replicas:
        r.world = world
    spec = AutoscalingSpec(enabled=True, metric="queue_length", target=5, min_replicas=2,
                           scale_down_stabilization_s=0)
    hpa = HorizontalPodAutoscaler(spec, "p", replicas, len(replicas), lambda i: replica(f"p-{i}", "healthy"), [])
    hpa.start(world)
    world.advance(15.0)
    return world, hpa


def test_scale_down_victims_not_serving_go_at_once():
    """A down or starting victim is removed at once: no down → draining → down."""
    replicas = [replica("p-0", "healthy"), replica("p-1", "healthy"), replica("p-2", "healthy", outstanding=1),
                replica("p-3", "starting"), replica("p-4", "down")]
    starting, down = replicas[3], replicas[4]
    _, hpa = scaled_down(replicas)
    assert "draining" not in down.history and "draining" not in starting.history
    assert starting.state == "down" and "scaled_down" in down.held_down
    assert replicas[2].state == "draining" and hpa.current() == 2
    assert [r.name for r in replicas] == ["p-0", "p-1", "p-2"]


def test_a_hung_draining_replica_is_killed_after_the_grace_period():
    """Work that never finishes does not keep a removed replica polling for ever."""
    replicas = [replica(f"p-{i}", "healthy", outstanding=1 if i == 4 else 0) for i in range(5)]
    hung = replicas[4]
    world, hpa = scaled_down(replicas)
    world.advance(15.0 + TERMINATION_GRACE_S - 1.0)
    assert hung.state == "draining" and hung in replicas
    world.advance(15.0 + TERMINATION_GRACE_S + 1.0)
    assert hung.state == "down" and "scaled_down" in hung.held_down
    assert [r.name for r in replicas] == ["p-0", "p-1"] and hpa.current() == 2
    assert not any(p[2].__name__ in ("_retire", "_drain_check") for p in world.pending)
