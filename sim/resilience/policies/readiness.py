"""Readiness probes (active health checks) with Kubernetes probe semantics, run by a load balancer.

A replica leaves rotation after ``failure_threshold`` consecutive failed probes and returns after
``success_threshold`` successes.

A probe round costs what changed, not the fleet: a replica's probe outcome is a function of its
lifecycle state, its effects (slowness, a hang) and the network between it and the load balancer,
so a replica whose outcome cannot have changed since its last probe, and whose streak of outcomes
cannot move it in or out of rotation, is not probed again: its streak is counted, not re-run. The
replica announces every change of what its probe reads (``probe_watchers``), the network counts its
changes (``version``); a replica whose outcome can change unannounced (memory against a readiness
limit, a lossy link that draws at each probe) is probed every round. The outcomes, their order and
every random draw are those of probing every replica every round.
"""

from __future__ import annotations

import heapq
from typing import Any

from sim.spec.policies import HealthCheckSpec

_MECHANISM = "health_check"


class ActiveHealthCheck:
    """Probes the replicas of a load balancer each ``period_s`` and tells it who is in rotation.

    A probe fails when the replica does not answer within ``timeout_s``: when it is down, starting
    (not ready), hung, draining, cut off from the load balancer by the network, or when its health
    endpoint plus the round trip takes longer than ``timeout_s`` (a badly throttled replica). Probe
    rounds of one load balancer start at a random phase so that several load balancers do not probe
    in lockstep.
    """

    def __init__(self, spec: HealthCheckSpec, rng):
        self.spec = spec
        self.phase_s = float(rng.uniform(0, spec.period_s))
        self.rounds = 0
        """Probe rounds run so far."""
        self.probes = 0
        """Probes actually run (a replica whose outcome cannot have changed is counted, not probed)."""
        self._streaks: dict[str, list[Any]] = {}
        """Replica name → [last outcome ok, consecutive rounds with it, the round that count is as of]."""
        self._seq: dict[int, int] = {}
        """id(replica) → its place in the load balancer's order (probes run in that order)."""
        self._members: dict[int, Any] = {}
        self._next_seq = 0
        self._due: dict[int, Any] = {}
        """Replicas to probe next round (keyed by id; the round sorts them into the balancer's order)."""
        self._heap: list[tuple[int, Any]] | None = None
        """The round being run: replicas still to probe, by place (None between rounds)."""
        self._cursor = -1
        self._network_version: Any = None
        self._world: Any = None
        self._balancer: Any = None

    def start(self, world: Any, balancer: Any) -> None:
        """Begin probing on the world's clock."""
        if not self.spec.enabled:
            return
        self._world, self._balancer = world, balancer
        for server in balancer.servers:
            self.added(server)
        world.call_later(self.phase_s, self._round, world, balancer)

    # --- membership and change notices -------------------------------------------------------------
    def added(self, server: Any) -> None:
        """A replica joins the load balancer (at the end of its order): probed from the next round."""
        key = id(server)
        if key in self._members:
            return
        self._members[key] = server
        self._seq[key] = self._next_seq
        self._next_seq += 1
        streak = self._streaks.get(server.name)
        if streak is not None:  # a name seen before: its count resumes from where it stopped
            streak[2] = self.rounds
        watchers = getattr(server, "probe_watchers", None)
        if watchers is not None:
            watchers.append(self._changed)
        self._due[key] = server

    def removed(self, server: Any) -> None:
        """A replica leaves the load balancer: no more probes; its count stops where it is."""
        key = id(server)
        if self._members.pop(key, None) is None:
            return
        seq = self._seq.pop(key)
        self._due.pop(key, None)
        streak = self._streaks.get(server.name)
        if streak is not None:
            counted = self.rounds if self._heap is None or seq <= self._cursor else self.rounds - 1
            streak[1] += counted - streak[2]
            streak[2] = counted
        watchers = getattr(server, "probe_watchers", None)
        if watchers is not None and self._changed in watchers:
            watchers.remove(self._changed)

    def _changed(self, server: Any) -> None:
        """Something a probe of ``server`` reads changed: probe it in this round if its turn is still to
        come, else in the next one."""
        key = id(server)
        seq = self._seq.get(key)
        if seq is None:
            return
        if self._heap is not None and seq > self._cursor:
            heapq.heappush(self._heap, (seq, server))
        else:
            self._due[key] = server

    # --- rounds ------------------------------------------------------------------------------------
    def _round(self, world: Any, balancer: Any) -> None:
        self.rounds += 1
        network = world.network
        version = getattr(network, "version", None)
        if version != self._network_version:  # partitions, added latency or loss changed: everyone
            self._network_version = version
            due = self._members
        else:
            due = self._due
        seq = self._seq
        heap = [(seq[key], server) for key, server in due.items()]
        self._due = {}
        heapq.heapify(heap)
        self._heap, self._cursor = heap, -1
        try:
            while heap:
                place, server = heapq.heappop(heap)
                if place <= self._cursor:
                    continue  # announced twice
                self._cursor = place
                self._probe(world, balancer, server)
        finally:
            self._heap = None
        world.call_later(self.spec.period_s, self._round, world, balancer)

    def _probe(self, world: Any, balancer: Any, server: Any) -> None:
        spec = self.spec
        r = self.rounds
        name = server.name
        in_rotation = not balancer.ejected_by(server, _MECHANISM)
        ok = self.ready(world, balancer, server)
        self.probes += 1
        streak = self._streaks.get(name)
        if streak is None:
            streak = self._streaks[name] = [ok, 1, r]
        elif streak[0] == ok:  # the rounds it was not probed had this outcome too
            streak[1] += r - streak[2]
            streak[2] = r
        else:
            streak[0], streak[1], streak[2] = ok, 1, r
        count = streak[1]
        if ok:
            if not in_rotation and count >= spec.success_threshold:
                balancer.restore(server, f"passed {count} probe(s)")
        elif in_rotation and count >= spec.failure_threshold:
            balancer.eject(server, f"failed {count} consecutive probes")
        # Settled (passing and in rotation, failing and out): further identical outcomes change nothing.
        settled = ok == (not balancer.ejected_by(server, _MECHANISM))
        if not settled or self._unannounced(world, balancer, server):
            self._due[id(server)] = server

    @staticmethod
    def _unannounced(world: Any, balancer: Any, server: Any) -> bool:
        """Whether the replica's next probe may differ with no notice: it announces nothing, its readiness
        follows its memory, or the link to it loses packets (each probe draws)."""
        if getattr(server, "probe_watchers", None) is None or server.probe_volatile():
            return True
        network = world.network
        return network is not None and network.lossy(balancer.zone, server.zone)

    def ready(self, world: Any, balancer: Any, server: Any) -> bool:
        """One readiness probe from the load balancer: reachable, ready, and answered within timeout_s."""
        if not server.probe_ok():
            return False
        network = world.network
        if not network.reachable(balancer.zone, server.zone, balancer.name, server.name):
            return False
        round_trip_s = 2 * network.latency_s(balancer.zone, server.zone)
        return server.probe_latency_s() + round_trip_s <= self.spec.timeout_s
