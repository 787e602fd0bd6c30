"""Components grouped the way people read a fleet: by pool and zone (a replica is one of many).

The swimlanes and the cascade figure use these groups so that they scale: a pool of 56 replicas is
a lane per zone (or one lane) showing how many replicas are in each state, and a zone failover is
a handful of arrows between groups instead of forty between replicas.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Member:
    """What the topology says about one component."""

    name: str
    kind: str
    tier: int
    zone: str
    pool: str


def natural(name: str) -> list:
    """Sort key that puts gpu-2 before gpu-10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def member(graph: Any, name: str) -> Member:
    """A component's kind, tier, zone and pool from the topology graph (a replica added later by the
    autoscaler is not in the graph: its pool is read from its name, ``<pool>-<n>``)."""
    if graph is not None and name in graph.nodes:
        d = graph.nodes[name]
        return Member(name, d.get("kind", ""), int(d.get("tier", 0)), d.get("zone", "") or "", d.get("pool", "") or "")
    pool = name.rsplit("-", 1)[0] if re.search(r"-\d+$", name) else ""
    if graph is not None and pool:
        peers = [n for n, d in graph.nodes(data=True) if d.get("pool") == pool]
        if peers:
            d = graph.nodes[peers[0]]
            return Member(name, d.get("kind", "server"), int(d.get("tier", 0)), "", pool)
    return Member(name, "", 0, "", "")


@dataclass(frozen=True)
class Group:
    """A set of components drawn as one: a pool in a zone, or a single component."""

    key: str
    label: str
    tier: int
    members: tuple[str, ...]
    pool: str = ""
    zone: str = ""

    @property
    def size(self) -> int:
        return len(self.members)


KIND_WORDS = {"client": "clients", "load_balancer": "load balancers", "discovery": "discovery",
              "cache": "caches", "database": "databases", "control_plane": "control planes", "server": "servers"}


def group_components(graph: Any, names: list[str], min_pool: int = 1, by_zone: bool = True,
                     min_kind: int | None = None) -> list[Group]:
    """Groups in drawing order (tier, pool, zone, name): the replicas of a pool with at least ``min_pool``
    of them are grouped per zone (``by_zone``) or per pool; with ``min_kind``, components outside a pool
    of one kind and tier with at least that many of them (a load balancer per zone) form one group; every
    other component stands alone."""
    members = [member(graph, n) for n in names]
    pool_sizes: dict[str, int] = {}
    kind_sizes: dict[tuple[str, int], int] = {}
    for m in members:
        if m.pool:
            pool_sizes[m.pool] = pool_sizes.get(m.pool, 0) + 1
        else:
            kind_sizes[(m.kind, m.tier)] = kind_sizes.get((m.kind, m.tier), 0) + 1
    grouped: dict[str, list[Member]] = {}
    for m in members:
        if m.pool and pool_sizes[m.pool] >= min_pool:
            key = f"{m.pool}@{m.zone}" if by_zone and m.zone else m.pool
        elif not m.pool and min_kind is not None and m.kind and kind_sizes[(m.kind, m.tier)] >= min_kind:
            key = f"kind:{m.kind}@{m.tier}"
        else:
            key = m.name
        grouped.setdefault(key, []).append(m)
    out = []
    for key, ms in grouped.items():
        first = ms[0]
        if len(ms) == 1 and key == first.name:
            label = first.name + (f" ({first.zone})" if first.zone else "")
            out.append(Group(key, label, first.tier, (first.name,), first.pool, first.zone))
            continue
        zone = first.zone if all(m.zone == first.zone for m in ms) else ""
        if key.startswith("kind:"):
            names_text = ", ".join(sorted((m.name for m in ms), key=natural))
            label = f"{KIND_WORDS.get(first.kind, first.kind)} ({len(ms)}): " + textwrap.shorten(names_text, 40)
            out.append(Group(key, label, first.tier, tuple(sorted((m.name for m in ms), key=natural)), "", zone))
            continue
        label = f"{first.pool}" + (f" · {zone}" if zone else "") + f" ({len(ms)})"
        out.append(Group(key, label, min(m.tier for m in ms), tuple(sorted((m.name for m in ms), key=natural)),
                         first.pool, zone))
    return sorted(out, key=lambda g: (g.tier, natural(g.pool), natural(g.zone), natural(g.key)))


def group_index(groups: list[Group]) -> dict[str, Group]:
    """Component name -> its group."""
    return {name: g for g in groups for name in g.members}
