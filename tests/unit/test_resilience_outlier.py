"""Outlier detection (Envoy semantics) against a small fake load balancer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sim.resilience.policies.outlier import OutlierDetector
from sim.spec.policies import OutlierDetectionSpec


class FakeWorld:
    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list = []

    def call_later(self, delay_s, fn, *args):
        self.pending.append((self.now + delay_s, fn, args))

    def advance(self, t_s: float) -> None:
        while True:
            due = sorted((p for p in self.pending if p[0] <= t_s), key=lambda p: p[0])
            if not due:
                break
            item = due[0]
            self.pending.remove(item)
            self.now = item[0]
            item[1](*item[2])
        self.now = t_s


class FakeLB:
    def __init__(self, n: int) -> None:
        self.servers = [SimpleNamespace(name=f"p-{i}") for i in range(n)]
        self.out: set[str] = set()

    def eject(self, server, detail, mechanism="health_check"):
        self.out.add(server.name)

    def restore(self, server, detail, mechanism="health_check"):
        self.out.discard(server.name)


def detector(n: int = 10, **spec) -> tuple[OutlierDetector, FakeLB, FakeWorld]:
    world, lb = FakeWorld(), FakeLB(n)
    od = OutlierDetector(OutlierDetectionSpec(enabled=True, **spec))
    od.start(world, lb)
    return od, lb, world


def test_defaults_are_envoys():
    spec = OutlierDetectionSpec()
    assert (spec.consecutive_5xx, spec.interval_s, spec.base_ejection_time_s, spec.max_ejection_percent) == (
        5, 10, 30, 10)
    assert spec.success_rate_stdev_factor == 1.9 and not spec.enabled


def test_consecutive_5xx_ejects_and_a_success_resets_the_count():
    od, lb, _ = detector()
    server = lb.servers[2]
    for _ in range(4):
        od.observe(server, "server_error")
    od.observe(server, "success")
    for _ in range(4):
        od.observe(server, "rejected")
    assert lb.out == set()
    od.observe(server, "dependency_error")
    assert lb.out == {"p-2"}


def test_ejection_time_grows_with_each_ejection():
    od, lb, world = detector()
    server = lb.servers[0]
    for _ in range(5):
        od.observe(server, "server_error")
    world.advance(29.0)
    assert "p-0" in lb.out
    world.advance(30.0)
    assert "p-0" not in lb.out, "30 s after the first ejection (restored at the 30 s sweep)"
    for _ in range(5):
        od.observe(server, "server_error")
    world.advance(85.0)
    assert "p-0" in lb.out, "second ejection lasts 2 x 30 s"
    world.advance(90.0)
    assert "p-0" not in lb.out


def test_max_ejection_percent_caps_but_one_host_may_always_go():
    od, lb, _ = detector(n=10, max_ejection_percent=10)
    for server in lb.servers[:3]:
        for _ in range(5):
            od.observe(server, "server_error")
    assert len(lb.out) == 1 and od.capped == 2
    od2, lb2, _ = detector(n=4, max_ejection_percent=10)
    for _ in range(5):
        od2.observe(lb2.servers[0], "server_error")
    assert len(lb2.out) == 1, "10 % of 4 rounds down to 0, but at least one host may be ejected"


def test_success_rate_ejects_the_low_outlier():
    od, lb, world = detector(n=6, consecutive_5xx=1000)
    for i, server in enumerate(lb.servers):
        for k in range(200):
            od.observe(server, "server_error" if (i == 4 and k % 2 == 0) else "success")
    world.advance(10.0)
    assert lb.out == {"p-4"}


def test_success_rate_needs_enough_hosts_and_volume():
    od, lb, world = detector(n=6, consecutive_5xx=1000)
    for i, server in enumerate(lb.servers):
        for k in range(50):  # below request volume 100
            od.observe(server, "server_error" if (i == 4 and k % 2 == 0) else "success")
    world.advance(10.0)
    assert lb.out == set()


@pytest.mark.parametrize("outcome", ["timeout", "success", "wrong_answer", "rate_limited"])
def test_non_5xx_outcomes_do_not_count(outcome):
    od, lb, _ = detector()
    for _ in range(10):
        od.observe(lb.servers[0], outcome)
    assert lb.out == set()
