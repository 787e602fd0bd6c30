"""Safe change: canary then progressive rollout with automatic rollback, and maintenance under a
disruption budget.

Rollout: at ``at_s`` the first step's share of the pool (the canary) switches to the new version
(its error probability and speed, added to whatever faults already do to the replica). Each switched
replica records a transition naming the change (cause kind ``fault``, source ``rollout:<pool>``), so
the cascade graph has the rollout as its root. After ``bake_time_s`` the updated replicas' own error
rate (``server_error`` over their replies) in the bake window is compared with ``max_error_rate``
(default 1 - the SLO availability): above it, every updated replica rolls back (automatic rollback:
only the version's share is removed); otherwise the next step updates more replicas. The exposure of
a bad deploy is thus bounded by the canary's share of traffic for one bake time.

Maintenance: every replica of a pool is restarted (drain, reboot, model load), at most
``max_unavailable`` at a time (Kubernetes PodDisruptionBudget); the next one starts only when a
restarted replica serves again. Draining makes readiness probes fail (the load balancer stops
sending) and waits for in-flight work, at most ``grace_period_s``.
"""

from __future__ import annotations

import math
from typing import Any

from sim.components.factors import replace_share
from sim.engine.timeline import Cause
from sim.spec.policies import MaintenanceSpec, RolloutSpec

DRAIN_POLL_S = 1.0
"""How often maintenance checks whether a draining replica is empty or a restarted one serves again."""


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
            replace_share(server, "error_probability", 0.0, spec.error_probability)
            replace_share(server, "slow_factor", 1.0, spec.slow_factor)
            state = world.timeline.current.get(server.name, server.state)
            self._marks[server.name] = world.set_state(server.name, state, Cause("fault", self.source, "rollout",
                                                                                 detail), force=True)
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
        spec = self.spec
        self.rollback_error_rate = rate
        for server in self.updated:
            replace_share(server, "error_probability", spec.error_probability, 0.0)
            replace_share(server, "slow_factor", spec.slow_factor, 1.0)
            mark = self._marks.get(server.name)
            state = world.timeline.current.get(server.name, server.state)
            world.set_state(server.name, state, Cause(
                "mechanism", self.source, "rollback", f"rolled back: error rate {rate:.1%} > {self.max_error_rate:.1%}",
                (mark,) if mark is not None else ()), force=True)
        self.rolled_back = True
        self.events.append((world.now, "rollback", 0.0))
        self.updated = []


class Maintenance:
    """Rolling restart of a pool within a disruption budget (see the module docstring)."""

    def __init__(self, spec: MaintenanceSpec, pool: str, replicas: list[Any]):
        self.spec = spec
        self.pool = pool
        self.replicas = replicas
        self._todo: list[Any] = []
        self._in_progress: set[str] = set()
        self.max_concurrent = 0
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world
        world.call_later(self.spec.at_s, self._begin)

    def _begin(self) -> None:
        self._todo = list(self.replicas)
        self._fill()

    def _fill(self) -> None:
        while self._todo and len(self._in_progress) < self.spec.max_unavailable:
            server = self._todo.pop(0)
            self._in_progress.add(server.name)
            self.max_concurrent = max(self.max_concurrent, len(self._in_progress))
            if server.serving:
                parent = self._world.timeline.last_transition.get(server.name)
                server._set_state("draining", Cause(
                    "mechanism", self.pool, "maintenance",
                    f"planned restart, draining (disruption budget max_unavailable {self.spec.max_unavailable})",
                    (parent,) if parent is not None else ()))
            self._drain(server, self._world.now)

    def _drain(self, server: Any, since_s: float) -> None:
        """Wait for in-flight work to finish (at most the grace period), then restart."""
        world = self._world
        if server.outstanding > 0 and world.now - since_s < self.spec.grace_period_s:
            world.call_later(DRAIN_POLL_S, self._drain, server, since_s)
            return
        server.crash(Cause("mechanism", self.pool, "maintenance", "planned restart"), self.spec.restart_delay_s)
        world.call_later(self.spec.restart_delay_s, self._watch, server)

    def _watch(self, server: Any) -> None:
        if server.state == "starting" or server.state == "down":
            self._world.call_later(DRAIN_POLL_S, self._watch, server)
            return
        self._in_progress.discard(server.name)
        self._fill()
