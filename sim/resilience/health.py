"""The liveness probe, with Kubernetes probe semantics (readiness probes are a load balancer's policy:
``sim.resilience.policies.readiness``).

Liveness (``LivenessProbe``, run by the kubelet for a pool): after ``failure_threshold`` failed probes
the container is restarted (crash, restart delay, model load). A probe fails when the replica is
hung or its health endpoint answers slower than ``timeout_s``, so liveness can kill a replica that
was merely slow, losing its in-flight work and its capacity for a whole cold start.
"""

from __future__ import annotations

from typing import Any

from sim.engine.timeline import Cause
from sim.spec.policies import LivenessSpec


class LivenessProbe:
    """The kubelet's liveness probe over the replicas of one pool (see the module docstring)."""

    def __init__(self, spec: LivenessSpec, rng):
        self.spec = spec
        self.phase_s = float(rng.uniform(0, spec.period_s))
        self.servers: list[Any] = []
        self._fails: dict[str, int] = {}
        self.restarts = 0

    def start(self, world: Any, servers: list[Any]) -> None:
        """Begin probing ``servers`` (a list the autoscaler may grow) on the world's clock."""
        self.servers = servers
        if self.spec.enabled:
            world.call_later(self.phase_s, self._round, world)

    def alive(self, server: Any) -> bool:
        """The liveness endpoint answers in time (a replica that is starting is not probed)."""
        return not server.hung and server.probe_latency_s() <= self.spec.timeout_s

    def _round(self, world: Any) -> None:
        spec = self.spec
        for server in list(self.servers):
            if not server.serving:
                self._fails[server.name] = 0
                continue
            if self.alive(server):
                self._fails[server.name] = 0
                continue
            fails = self._fails.get(server.name, 0) + 1
            self._fails[server.name] = fails
            if fails >= spec.failure_threshold:
                self._fails[server.name] = 0
                self.restarts += 1
                parent = world.timeline.last_transition.get(server.name)
                why = "hung" if server.hung else f"answered in {server.probe_latency_s():.2f} s > {spec.timeout_s:g} s"
                cause = Cause("mechanism", server.name, "liveness_probe",
                              f"failed {fails} liveness probes ({why}); kubelet restarts the container",
                              (parent,) if parent is not None else ())
                server.crash(cause, spec.restart_delay_s)
        world.call_later(spec.period_s, self._round, world)
