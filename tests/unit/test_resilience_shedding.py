"""Admission queues: a contract every queue discipline passes, then LIFO, CoDel, deadlines and priorities."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from sim.components.deadlines import attempt_deadline_s, retry_fits
from sim.resilience.policies.shedding import DISCIPLINES, AdmissionQueue, needs_admission_queue
from sim.spec.policies import SheddingSpec


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def att(i: int, priority: int = 0) -> SimpleNamespace:
    return SimpleNamespace(id=i, request=SimpleNamespace(priority=priority))


def make(capacity: int = 10, deadline=None, **spec) -> tuple[AdmissionQueue, Clock, list]:
    clock = Clock()
    dropped: list = []
    queue = AdmissionQueue(SheddingSpec(**spec), capacity, clock, lambda a, why: dropped.append((a.id, why)),
                           deadline)
    return queue, clock, dropped


@pytest.mark.parametrize("discipline", DISCIPLINES.names())
def test_discipline_contract(discipline):
    """Every entry admitted leaves exactly once (served or dropped); the bound holds; len is exact."""
    queue, clock, dropped = make(capacity=8, discipline=discipline)
    served = []
    admitted = 0
    for i in range(40):
        clock.t += 0.001
        if queue.admit(att(i)):
            queue.append(att(i))
            admitted += 1
        assert len(queue) <= 8
        if i % 3 == 0 and queue:
            served.append(queue.popleft().id)
    while queue:
        served.append(queue.popleft().id)
    assert len(queue) == 0 and not list(queue)
    ids = served + [i for i, _ in dropped]
    assert len(ids) == len(set(ids)) == admitted


def test_fifo_and_lifo_order():
    fifo, _, _ = make(discipline="fifo", priority=True)
    lifo, _, _ = make(discipline="lifo")
    for i in range(3):
        fifo.append(att(i))
        lifo.append(att(i))
    assert [fifo.popleft().id for _ in range(3)] == [0, 1, 2]
    assert [lifo.popleft().id for _ in range(3)] == [2, 1, 0]


def test_lifo_sheds_the_oldest_when_full():
    queue, _, dropped = make(capacity=3, discipline="lifo")
    for i in range(3):
        queue.append(att(i))
    assert queue.admit(att(3))
    assert dropped == [(0, "rejected")] and len(queue) == 2


def test_adaptive_lifo_switches_above_half():
    queue, _, _ = make(capacity=4, discipline="adaptive_lifo")
    for i in range(3):
        queue.append(att(i))
    assert queue.popleft().id == 2, "3 > 4 // 2: LIFO"
    assert queue.popleft().id == 0, "2 queued: FIFO again"


def test_codel_sheds_entries_that_waited_past_target_in_a_standing_queue():
    queue, clock, dropped = make(discipline="codel", codel_target_s=0.005, codel_interval_s=0.1)
    queue.append(att(0))  # queue was just empty: may wait the interval
    clock.t = 0.2
    queue.append(att(1))  # standing queue for 200 ms > interval: only the target
    clock.t = 0.21
    assert not queue, "both waited too long: 210 ms > 100 ms, 10 ms > 5 ms"
    assert dropped == [(0, "rejected"), (1, "rejected")]
    assert queue.shed == 2


def test_deadline_propagation_drops_expired_work_at_dequeue():
    deadlines = {0: 1.0, 1: 5.0}
    queue, clock, dropped = make(deadline=lambda a: deadlines[a.id])
    queue.append(att(0))
    queue.append(att(1))
    clock.t = 2.0
    assert queue.popleft().id == 1
    assert dropped == [(0, "timeout")] and queue.expired == 1


def test_priority_serves_the_higher_class_first_and_sheds_the_lower_first():
    queue, _, dropped = make(capacity=4, priority=True, low_priority_max_fill=0.5)
    queue.append(att(0, priority=0))
    queue.append(att(1, priority=0))
    assert not queue.admit(att(2, priority=0)), "free traffic refused at half full"
    for i in (3, 4):
        assert queue.admit(att(i, priority=1))
        queue.append(att(i, priority=1))
    assert queue.admit(att(5, priority=1)), "a full queue pushes out the newest free entry"
    assert dropped == [(1, "rejected")]
    queue.append(att(5, priority=1))
    assert [queue.popleft().id for _ in range(4)] == [3, 4, 5, 0]


def test_default_fifo_needs_no_admission_queue():
    assert not needs_admission_queue(SheddingSpec(), False)
    assert needs_admission_queue(SheddingSpec(), True) and needs_admission_queue(SheddingSpec(discipline="lifo"), False)


def test_deadlines():
    assert attempt_deadline_s(10.0, 2.0, 9.0, None) == 12.0
    assert attempt_deadline_s(10.0, 2.0, 9.0, 2.5) == 11.5
    assert attempt_deadline_s(10.0, None, 9.0, None) == math.inf
    assert retry_fits(10.0, 0.5, 9.0, None) and retry_fits(10.0, 0.5, 9.0, 2.0) and not retry_fits(10.0, 1.5, 9.0, 2.0)
