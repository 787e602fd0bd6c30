"""Adding replicas to a pool: provisioning (a node, its GPUs), then the replica's cold start and readiness.

One ``Provisioner`` per pool, shared by the autoscaler and by operators who scale the pool by hand,
so new replicas are numbered once (no two are called ``api-4``) and both see what is on its way. A
replica provisioned into a zone that is out (the fault ledger's ``zone_outages``) is held down by
those outages and starts when the zone is back; it joins the load balancers out of rotation, and
readiness (health checks, or its first serving moment without them) brings it in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.engine.timeline import Cause
from sim.resilience.controllers import zone_outages


class Provisioner:
    """Provisions replicas of one pool (see the module docstring). ``make_replica(index)`` builds one."""

    def __init__(self, pool: str, replicas: list[Any], initial: int, make_replica: Callable[[int], Any],
                 balancers: list[Any]):
        self.pool = pool
        self.replicas = replicas
        self.make_replica = make_replica
        self.balancers = balancers
        self._next_index = initial
        self.provisioning = 0
        """Replicas asked for and not yet provisioned."""
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world

    def provision(self, delay_s: float, reason: str, lb_detail: str) -> None:
        """One more replica, provisioned after ``delay_s``, then cold-started; ``reason`` and ``lb_detail`` name
        who asked, on the replica's start and on its joining the load balancers."""
        self.provisioning += 1
        self._world.call_later(delay_s, self._provisioned, reason, lb_detail)

    def _provisioned(self, reason: str, lb_detail: str) -> None:
        self.provisioning -= 1
        index = self._next_index
        self._next_index += 1
        server = self.make_replica(index)
        self.replicas.append(server)
        outages = zone_outages(self._world, server.zone)
        if outages:  # the zone's end lets go of it (ZoneOutage.stop)
            fid = min(outages)
            server.hold(fid, Cause("fault", fid, "zone_outage",
                                   f"zone {server.zone} outage: provisioned into it, held down"))
            for other in sorted(outages - {fid}):
                server.hold(other, None)
        server.start(f"{reason}: provisioned, loading model")
        for lb in self.balancers:
            lb.add_server(server, lb_detail)
            if lb.health is None:
                self._world.call_later(server.model_load_s, _ready_without_probes, lb, server)


def _ready_without_probes(lb: Any, server: Any) -> None:
    """Without readiness probes a new replica joins once it first serves (later, if a zone outage held it)."""
    if server.serving:
        lb.restore(server, "loaded (no readiness probes)")
    elif server in lb.servers:
        server.world.call_later(1.0, _ready_without_probes, lb, server)
