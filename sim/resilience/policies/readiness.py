"""Readiness probes (active health checks) with Kubernetes probe semantics, run by a load balancer.

A replica leaves rotation after ``failure_threshold`` consecutive failed probes and returns after
``success_threshold`` successes.
"""

from __future__ import annotations

from typing import Any

from sim.spec.policies import HealthCheckSpec


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
