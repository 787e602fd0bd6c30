"""A load balancer: routes each attempt to a replica in rotation, chosen by its balancing policy."""

from __future__ import annotations

from typing import Any

from sim.engine.request import Attempt
from sim.engine.world import World
from sim.observe.timeline import Cause


class LoadBalancer:
    """Holds a balancing policy and a health-check policy; answers no_healthy_upstream when empty.

    State: healthy (every replica in rotation), degraded (some out), down (none left). Each change
    names the replica transitions that caused it.
    """

    kind = "load_balancer"

    def __init__(self, world: World, name: str, zone: str, servers: list[Any], balancer: Any, health: Any):
        self.world = world
        self.name = name
        self.zone = zone
        self.servers = servers
        self.balancer = balancer
        self.health = health
        self.rotation: list[Any] = list(servers)
        self._in: set[str] = {s.name for s in servers}
        self.routed = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "all upstreams in rotation"))

    def start(self) -> None:
        if self.health is not None:
            self.health.start(self.world, self)

    def in_rotation(self, server: Any) -> bool:
        return server.name in self._in

    def eject(self, server: Any, detail: str) -> None:
        """Take a replica out of rotation (health checks decided so)."""
        self._in.discard(server.name)
        self.rotation = [s for s in self.servers if s.name in self._in]
        self._update_state(server, f"ejected {server.name}: {detail}")

    def restore(self, server: Any, detail: str) -> None:
        """Put a replica back into rotation."""
        self._in.add(server.name)
        self.rotation = [s for s in self.servers if s.name in self._in]
        self._update_state(server, f"restored {server.name}: {detail}")

    def _update_state(self, server: Any, detail: str) -> None:
        n, total = len(self.rotation), len(self.servers)
        state = "healthy" if n == total else ("down" if n == 0 else "degraded")
        parent = self.world.timeline.last_transition.get(server.name)
        parents = (parent,) if parent is not None else ()
        cause = Cause("mechanism", self.name, "health_check", f"{detail} ({n}/{total} in rotation)", parents)
        self.world.set_state(self.name, state, cause, force=True)

    def handle(self, att: Attempt) -> None:
        """Route one attempt."""
        rotation = self.rotation
        if not rotation:
            att.reply(att, "no_healthy_upstream")
            return
        server = self.balancer.pick(rotation, att)
        self.routed += 1
        network = self.world.network
        if not network.reachable(self.zone, server.zone):
            att.reply(att, "network_error")
            return
        latency = network.latency_s(self.zone, server.zone)
        if latency:
            att.path_latency_s += latency
            self.world.call_later(latency, server.submit, att)
        else:
            server.submit(att)
