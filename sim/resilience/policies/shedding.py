"""Load shedding and admission: the waiting queue of a replica, with a discipline and priority classes.

The default FIFO replica keeps a plain deque (no cost). Any other setting gives the replica an
``AdmissionQueue`` with the deque interface the servers use (append, appendleft, popleft, [0],
len, iteration, clear) plus ``admit``:

- disciplines (QUEUE_DISCIPLINES): fifo; lifo (newest first; when full, the oldest is shed instead of
  the newcomer); adaptive_lifo (FIFO while the queue is under half its bound, LIFO above, as
  Facebook's adaptive LIFO); codel (Facebook's CoDel for RPC queues: an entry may wait ``interval``
  normally, but only ``target`` when the queue has not been empty for an interval; older entries
  are shed at dequeue);
- deadline dropping: with deadline propagation, an entry whose client deadline has passed is dropped
  at dequeue (outcome ``timeout``; the client has already given up, the work is saved);
- priority classes: higher ``request.priority`` is served first; priority 0 (the sheddable class, e.g.
  free users) is refused once the queue is ``low_priority_max_fill`` full, and a full queue pushes
  out a lower-class entry for a higher-class newcomer.

Every operation is O(1) amortised (per-class deques; drops happen only at the ends).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from sim.resilience.registry import Registry
from sim.spec.policies import SheddingSpec

Drop = Callable[[Any, str], None]


class _Discipline:
    """Which end of a class deque is served next: 'left' (oldest) or 'right' (newest)."""

    def __init__(self, spec: SheddingSpec, capacity: int):
        self.spec = spec
        self.capacity = capacity

    def serve_newest(self, queued: int) -> bool:
        return False

    def timeout_s(self, now: float, last_empty_s: float) -> float:
        """How long a newly queued entry may wait before it is shed (inf: no limit)."""
        return math.inf


DISCIPLINES: Registry[_Discipline] = Registry("queue discipline")


@DISCIPLINES.register("fifo")
class Fifo(_Discipline):
    """First in, first out."""


@DISCIPLINES.register("lifo")
class Lifo(_Discipline):
    """Newest first: under overload, fresh work (whose client still waits) is served before stale work."""

    def serve_newest(self, queued: int) -> bool:
        return True


@DISCIPLINES.register("adaptive_lifo")
class AdaptiveLifo(_Discipline):
    """FIFO normally, LIFO while the queue is more than half full."""

    def serve_newest(self, queued: int) -> bool:
        return queued > self.capacity // 2


@DISCIPLINES.register("codel")
class CoDel(_Discipline):
    """FIFO; an entry may wait interval, or only target when the queue was not empty for an interval."""

    def timeout_s(self, now: float, last_empty_s: float) -> float:
        spec = self.spec
        return spec.codel_target_s if now - last_empty_s > spec.codel_interval_s else spec.codel_interval_s


class AdmissionQueue:
    """A replica's waiting queue under a shedding policy (see the module docstring)."""

    def __init__(self, spec: SheddingSpec, capacity: int, now: Callable[[], float], drop: Drop,
                 deadline: Callable[[Any], float] | None = None):
        self.spec = spec
        self.capacity = capacity
        self._now = now
        self._drop = drop
        self._deadline = deadline
        self.discipline = DISCIPLINES.create(spec.discipline, spec, capacity)
        self._levels: dict[int, deque[tuple[Any, float]]] = {}
        self._order: list[int] = []
        self._n = 0
        self._last_empty_s = 0.0
        self.shed = 0
        """Entries dropped by the discipline or pushed out by priority (outcome rejected)."""
        self.expired = 0
        """Entries dropped because their deadline had passed (outcome timeout)."""

    # --- admission -----------------------------------------------------------------------------------
    def admit(self, att: Any) -> bool:
        """Whether a new attempt may enter (may push out a lower-class or the oldest entry to make room)."""
        n = self._n
        if self.spec.priority:
            prio = att.request.priority
            if prio == 0 and n >= self.spec.low_priority_max_fill * self.capacity:
                return False
            if n >= self.capacity:
                for low in reversed(self._order):
                    if low >= prio:
                        break
                    if self._levels[low]:
                        self._evict(self._levels[low], newest=True)
                        return True
        if n < self.capacity:
            return True
        if self.discipline.serve_newest(n):
            for low in reversed(self._order):
                if self._levels[low]:
                    self._evict(self._levels[low], newest=False)
                    return True
        return False

    def _evict(self, level: deque[tuple[Any, float]], newest: bool) -> None:
        att, _ = level.pop() if newest else level.popleft()
        self._n -= 1
        self.shed += 1
        self._drop(att, "rejected")

    # --- deque interface ---------------------------------------------------------------------------
    def _level(self, priority: int) -> deque[tuple[Any, float]]:
        level = self._levels.get(priority)
        if level is None:
            level = self._levels[priority] = deque()
            self._order = sorted(self._levels, reverse=True)
        return level

    def append(self, att: Any) -> None:
        now = self._now()
        if self._n == 0:
            self._last_empty_s = now
        expiry = now + self.discipline.timeout_s(now, self._last_empty_s)
        self._level(att.request.priority).append((att, expiry))
        self._n += 1

    def appendleft(self, att: Any) -> None:
        """Put an entry where it is served next (a preempted request resumes first)."""
        level = self._level(att.request.priority)
        if self.discipline.serve_newest(self._n):
            level.append((att, math.inf))
        else:
            level.appendleft((att, math.inf))
        self._n += 1

    def _head(self) -> tuple[deque[tuple[Any, float]], bool] | None:
        """The class deque served next and which end, after dropping expired entries there."""
        while self._n:
            newest = self.discipline.serve_newest(self._n)
            for prio in self._order:
                level = self._levels[prio]
                if level:
                    break
            att, expiry = level[-1] if newest else level[0]
            now = self._now()
            reason = None
            if expiry < now:
                reason = "rejected"
                self.shed += 1
            elif self._deadline is not None and self._deadline(att) <= now:
                reason = "timeout"
                self.expired += 1
            if reason is None:
                return level, newest
            if newest:
                level.pop()
            else:
                level.popleft()
            self._n -= 1
            self._drop(att, reason)
        self._last_empty_s = self._now()
        return None

    def popleft(self) -> Any:
        head = self._head()
        if head is None:
            raise IndexError("pop from an empty queue")
        level, newest = head
        att, _ = level.pop() if newest else level.popleft()
        self._n -= 1
        if not self._n:
            self._last_empty_s = self._now()
        return att

    def __getitem__(self, index: int) -> Any:
        if index != 0:
            raise IndexError("only the head of an admission queue can be read")
        head = self._head()
        if head is None:
            raise IndexError("empty queue")
        level, newest = head
        return level[-1][0] if newest else level[0][0]

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._head() is not None

    def __iter__(self) -> Iterator[Any]:
        for prio in self._order:
            for att, _ in self._levels[prio]:
                yield att

    def clear(self) -> None:
        for level in self._levels.values():
            level.clear()
        self._n = 0


def needs_admission_queue(spec: SheddingSpec, propagate_deadline: bool) -> bool:
    """Whether a replica needs an AdmissionQueue (the default FIFO without deadlines keeps a plain deque)."""
    return spec.discipline != "fifo" or spec.priority or propagate_deadline
