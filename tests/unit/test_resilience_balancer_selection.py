"""Client-side balancer selection: a contract every selection passes, then the health-checked DNS record."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.engine.distributions import UniformSampler
from sim.resilience.policies.balancer_selection import SELECTIONS, DnsAnswer, HealthCheckedRecord
from sim.spec.policies import LbDnsSpec
from sim.spec.workload import ClientSpec
from tests.helpers import FakeWorld


def balancers(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=f"lb-{i}", available=True) for i in range(n)]


def request(user: int) -> SimpleNamespace:
    return SimpleNamespace(user=user)


def picks(selection, n: int = 300, seed: int = 1) -> list[str]:
    coin = UniformSampler(np.random.default_rng(seed))
    return [selection.pick(request(u), coin).name for u in range(n)]


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_selection_contract(name):
    """Picks one of the client's load balancers; one target is always it; same seed, same picks; with a
    DNS answer, only load balancers in the answer."""
    lbs = balancers(3)
    first = picks(SELECTIONS.create(name, lbs, None))
    assert first == picks(SELECTIONS.create(name, lbs, None))
    assert set(first) <= {b.name for b in lbs} and len(set(first)) > 1
    assert set(picks(SELECTIONS.create(name, lbs[:1], None))) == {"lb-0"}
    world = FakeWorld()
    record = HealthCheckedRecord(lbs, LbDnsSpec())
    answer = DnsAnswer(record, 60.0, lambda: world.now)
    assert set(picks(SELECTIONS.create(name, lbs, answer))) <= {b.name for b in lbs}


def test_every_lb_selection_in_the_spec_is_registered():
    assert set(ClientSpec.model_fields["lb_selection"].annotation.__args__) == set(SELECTIONS.names())


def test_a_dead_balancer_leaves_the_answer_after_its_checks_and_the_ttl():
    """Checks every 30 s, 3 failures withdraw: lb-1 dies at 5 s, fails the checks at 30, 60 and 90 s and
    leaves the record at 90 s; a client that refreshed its answer at 60 s keeps it until 120 s."""
    world = FakeWorld()
    lbs = balancers(2)
    record = HealthCheckedRecord(lbs, LbDnsSpec(ttl_s=60.0, check_interval_s=30.0, failure_threshold=3))
    record.start(world)
    answer = DnsAnswer(record, 60.0, lambda: world.now)
    world.advance(5.0)
    lbs[1].available = False
    world.advance(60.0)
    assert answer.current() == lbs, "refreshed at 60 s (first TTL over): lb-1 has failed 2 checks only"
    world.advance(89.0)
    assert record.healthy == lbs and answer.current() == lbs
    world.advance(90.0)
    assert record.healthy == [lbs[0]] and record.withdrawals == 1
    assert answer.current() == lbs, "cached until 120 s"
    world.advance(120.0)
    assert answer.current() == [lbs[0]]
    selection = SELECTIONS.create("random", lbs, answer)
    assert set(picks(selection)) == {"lb-0"}
    lbs[1].available = True  # back: three passing checks (150, 180, 210 s) put it back
    world.advance(209.0)
    assert record.healthy == [lbs[0]]
    world.advance(210.0)
    assert record.healthy == lbs
    world.advance(240.0)
    assert set(picks(selection)) == {"lb-0", "lb-1"}


def test_the_record_fails_open_when_every_balancer_is_unhealthy():
    world = FakeWorld()
    lbs = balancers(2)
    record = HealthCheckedRecord(lbs, LbDnsSpec(check_interval_s=10.0, failure_threshold=1))
    record.start(world)
    for b in lbs:
        b.available = False
    world.advance(10.0)
    assert record.healthy == lbs, "Route 53 answers every record when none is healthy"
    lbs[0].available = True
    world.advance(20.0)
    assert record.healthy == [lbs[0]]


def test_a_flapping_balancer_needs_a_full_streak_to_change():
    world = FakeWorld()
    lbs = balancers(2)
    record = HealthCheckedRecord(lbs, LbDnsSpec(check_interval_s=10.0, failure_threshold=3))
    record.start(world)
    for t_s, up in [(5, False), (25, True), (35, False), (55, True)]:  # never 3 failed checks in a row
        world.advance(float(t_s))
        lbs[1].available = up
    world.advance(100.0)
    assert record.healthy == lbs and record.withdrawals == 0


def test_the_cell_router_ignores_health():
    lbs = balancers(2)
    world = FakeWorld()
    answer = DnsAnswer(HealthCheckedRecord(lbs, LbDnsSpec()), 60.0, lambda: world.now)
    router = SELECTIONS.create("by_user", lbs, answer)
    assert [router.pick(request(u), lambda: 0.0).name for u in range(4)] == ["lb-0", "lb-1", "lb-0", "lb-1"]
