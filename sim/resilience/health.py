"""Active health checks with Kubernetes probe semantics.

Readiness (``ActiveHealthCheck``, run by a load balancer): a replica leaves rotation after
``failure_threshold`` consecutive failed probes and returns after ``success_threshold`` successes.
Liveness (``LivenessProbe``, run by the kubelet for a pool): after ``failure_threshold`` failed probes
the container is restarted (crash, restart delay, model load). A probe fails when the replica is
hung or its health endpoint answers slower than ``timeout_s``, so liveness can kill a replica that
was merely slow, losing its in-flight work and its capacity for a whole cold start.
"""

from __future__ import annotations

from typing import Any

from sim.engine.timeline import Cause
from sim.spec.policies import HealthCheckSpec, LivenessSpec


class ActiveHealthCheck:
    """Probes every replica of a load balancer each ``period_s`` and tells it who is in rotation.

    A probe fails when the replica does not answer within ``timeout_s``: when it is down, starting
    (not ready), hung, draining, cut off from the load balancer by the network, or when its health
    endpoint plus the round trip takes longer than ``timeout_s`` (a badly throttled replica). Probe
    rounds of one load balancer start at a random phase so that several load balancers do not probe
    in lockstep.
    """

    def __init__(self, spec: HealthCheckSpec, rng):
        self.spec = spec
        self.phase_s = float(rng.uniform(0, spec.period_s))
        self._fails: dict[str, int] = {}
        self._oks: dict[str, int] = {}

    def start(self, world: Any, balancer: Any) -> None:
        """Begin probing on the world's clock."""
        if self.spec.enabled:
            world.call_later(self.phase_s, self._round, world, balancer)

    def _round(self, world: Any, balancer: Any) -> None:
        spec = self.spec
        for server in balancer.servers:
            name = server.name
            in_rotation = not balancer.ejected_by(server, "health_check")
            if self.ready(world, balancer, server):
                self._fails[name] = 0
                self._oks[name] = self._oks.get(name, 0) + 1
                if not in_rotation and self._oks[name] >= spec.success_threshold:
                    balancer.restore(server, f"passed {self._oks[name]} probe(s)")
            else:
                self._oks[name] = 0
                self._fails[name] = self._fails.get(name, 0) + 1
                if in_rotation and self._fails[name] >= spec.failure_threshold:
                    balancer.eject(server, f"failed {self._fails[name]} consecutive probes")
        world.call_later(spec.period_s, self._round, world, balancer)

    def ready(self, world: Any, balancer: Any, server: Any) -> bool:
        """One readiness probe from the load balancer: reachable, ready, and answered within timeout_s."""
        if not server.probe_ok():
            return False
        network = world.network
        if not network.reachable(balancer.zone, server.zone, balancer.name, server.name):
            return False
        round_trip_s = 2 * network.latency_s(balancer.zone, server.zone)
        return server.probe_latency_s() + round_trip_s <= self.spec.timeout_s


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
