"""Safe change: canary then progressive rollout with automatic rollback.

At ``at_s`` the first step's share of the pool (the canary) switches to the new version
(its error share and slow factor: effects of the replica under the source ``rollout:<pool>``, combined
with whatever faults already do to it). Each switched
replica records a transition naming the change (cause kind ``fault``, source ``rollout:<pool>``), so
the cascade graph has the rollout as its root. After ``bake_time_s`` the updated replicas' own error
rate (``server_error`` over their replies) in the bake window is compared with ``max_error_rate``
(default 1 - the SLO availability): above it, every updated replica rolls back (automatic rollback:
only the version's share is removed); otherwise the next step updates more replicas. The exposure of
a bad deploy is thus bounded by the canary's share of traffic for one bake time.
"""

from __future__ import annotations

import math
from typing import Any

from sim.engine.timeline import Cause
from sim.spec.policies import RolloutSpec


class Rollout:
    """Progressive rollout of one pool (see the module docstring)."""

    def __init__(self, spec: RolloutSpec, pool: str, replicas: list[Any], max_error_rate: float):
        self.spec = spec
        self.pool = pool
        self.source = f"rollout:{pool}"
        """Names the change in causes: the root of whatever the new version causes."""
        self.replicas = replicas
        self.max_error_rate = spec.max_error_rate if spec.max_error_rate is not None else max_error_rate
        self.updated: list[Any] = []
        self._marks: dict[str, int | None] = {}
        self._step = 0
        self._baseline: tuple[int, int] = (0, 0)
        self.events: list[tuple[float, str, float]] = []
        """(time, 'step' / 'rollback' / 'done', share of the pool on the new version)."""
        self.rolled_back = False
        self.rollback_error_rate: float | None = None
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world
        world.call_later(self.spec.at_s, self._advance)

    def _counts(self) -> tuple[int, int]:
        """(replies, server errors) of the updated replicas so far."""
        replies = sum(s.completed + s.failed for s in self.updated)
        errors = sum(s.server_errors for s in self.updated)
        return replies, errors

    def _advance(self) -> None:
        spec = self.spec
        world = self._world
        share = spec.steps_percent[self._step]
        n = max(1, math.ceil(len(self.replicas) * share / 100))
        detail = f"new version: error probability {spec.error_probability:g}, service x{spec.slow_factor:g}"
        for server in self.replicas[len(self.updated):n]:
            state = world.timeline.current.get(server.name, server.state)
            mark = world.set_state(server.name, state, Cause("fault", self.source, "rollout", detail), force=True)
            self._marks[server.name] = mark
            server.effects.set(self.source, "error_share", spec.error_probability, mark)
            server.effects.set(self.source, "slow_factor", spec.slow_factor, mark)
            self.updated.append(server)
        self.events.append((world.now, "step", 100.0 * len(self.updated) / len(self.replicas)))
        self._baseline = self._counts()
        world.call_later(spec.bake_time_s, self._judge)

    def _judge(self) -> None:
        """Compare the updated replicas' own error rate (server_error) over the bake with the threshold.

        Only server errors count: rejections, timeouts and dependency errors come from load or from
        elsewhere, and rolling a good version back under overload would not help.
        """
        replies0, errors0 = self._baseline
        replies, errors = self._counts()
        total = replies - replies0
        rate = (errors - errors0) / total if total else 0.0
        if self.spec.auto_rollback and rate > self.max_error_rate:
            self._rollback(rate)
            return
        self._step += 1
        if self._step < len(self.spec.steps_percent):
            self._advance()
        else:
            self.events.append((self._world.now, "done", 100.0 * len(self.updated) / len(self.replicas)))

    def _rollback(self, rate: float) -> None:
        world = self._world
        self.rollback_error_rate = rate
        for server in self.updated:
            server.effects.clear(self.source)
            mark = self._marks.get(server.name)
            state = world.timeline.current.get(server.name, server.state)
            world.set_state(server.name, state, Cause(
                "mechanism", self.source, "rollback", f"rolled back: error rate {rate:.1%} > {self.max_error_rate:.1%}",
                (mark,) if mark is not None else ()), force=True)
        self.rolled_back = True
        self.events.append((world.now, "rollback", 0.0))
        self.updated = []
