"""Maintenance under a disruption budget: every replica of a pool is restarted (drain, reboot, model
load), at most ``max_unavailable`` at a time (Kubernetes PodDisruptionBudget); the next one starts
only when a restarted replica serves again. Draining (the replica's one drain, ``drain`` on its port)
makes readiness probes fail, so the load balancer stops sending, and waits for in-flight work, at
most ``grace_period_s``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sim.engine.timeline import Cause
from sim.spec.policies import MaintenanceSpec

WATCH_POLL_S = 1.0
"""How often maintenance checks whether a restarted replica serves again."""


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
            parent = self._world.timeline.last_transition.get(server.name)
            detail = f"planned restart, draining (disruption budget max_unavailable {self.spec.max_unavailable})"
            parents = (parent,) if parent is not None else ()
            server.drain(Cause("mechanism", self.pool, "maintenance", detail, parents),
                         partial(self._restart, server), grace_s=self.spec.grace_period_s, first_check_s=0.0)

    def _restart(self, server: Any, killed: bool) -> None:
        """Drained (or the grace period is over: what is still in flight is lost): restart."""
        server.crash(Cause("mechanism", self.pool, "maintenance", "planned restart"), self.spec.restart_delay_s)
        self._world.call_later(self.spec.restart_delay_s, self._watch, server)

    def _watch(self, server: Any) -> None:
        if server.state == "starting" or server.state == "down":
            self._world.call_later(WATCH_POLL_S, self._watch, server)
            return
        self._in_progress.discard(server.name)
        self._fill()
