"""DNS / service discovery: clients resolve load balancer names and cache the answer for ``ttl_s``.

When discovery fails, clients keep using cached records until they expire; only then do requests
fail (the delay of about one TTL between a control-plane failure and a data-plane failure).
"""

from __future__ import annotations

from sim.engine.world import World
from sim.observe.timeline import Cause


class Discovery:
    """Answers lookups while ``available``; a failed lookup is a ``network_error`` for the request."""

    kind = "discovery"

    def __init__(self, world: World, name: str, ttl_s: float):
        self.world = world
        self.name = name
        self.ttl_s = ttl_s
        self.available = True
        self.lookups = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "serving records"))

    def resolve(self) -> bool:
        """One lookup; True when it was answered."""
        self.lookups += 1
        return self.available
