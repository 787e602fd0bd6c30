"""Blame for load shifted from peers: which peers' load moved onto a replica, and the transitions that moved it.

Load is a cause like any other: when a replica becomes overloaded, the peers of its pool that are
down or starting (their own transitions), or that a load balancer ejected (the ejection), are named
as parents of the overload, so the cascade graph links a crash to the survivors it overloaded. It
lives beside the timeline because it is a question about the timeline, not about the replica.
"""

from __future__ import annotations

from typing import Any

from sim.engine.timeline import StateTimeline


def shifted_from(timeline: StateTimeline, components: dict[str, Any],
                 peers: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """Peers whose load moved here, and the transitions that moved it: a peer down or starting (its
    transition), and a peer a load balancer ejected (the ejection). An overloaded or degraded peer
    still takes its share, so it is not blamed."""
    names: list[str] = []
    parents: list[int] = []
    for name in peers:
        moved = False
        if timeline.current.get(name) in ("down", "starting"):
            parents.append(timeline.last_transition[name])
            moved = True
        peer = components.get(name)
        for tid in getattr(peer, "ejections", {}).values():
            if tid not in parents:
                parents.append(tid)
            moved = True
        if moved:
            names.append(name)
    return names, tuple(parents)
