"""The cascade drawn over the topology, grouped so that it scales.

A small stack (at most ``GROUP_OVER`` components) is drawn component by component. A larger one is
drawn by group: the replicas of a pool in one zone are one node ("api · zone-b (3)", with how many
the cascade reached), every other component stands alone. Spread arrows are collapsed per pair of
groups: one arrow, as thick as the number of transitions it stands for, labelled with its order,
the time after the first fault and the count; spread inside a group is written on the node. The
full list of transitions is the report's cascade table.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # as sim.report.figures: no display needed, same bytes everywhere
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.report.grouping import Group, group_components, group_index, natural  # noqa: E402
from sim.report.palette import STATE_COLOURS  # noqa: E402

GROUP_OVER = 12
"""Stacks with more components than this are drawn by pool and zone."""
MAX_ARROW_LABELS = 12
"""Arrows that get a number and a time label (the rest are in the report's table)."""
BREACHED_COLOUR = "#ffe0b2"
"""A component that served worse than its own share of the SLO without changing state (a slowed survivor)."""
RANK = {s: i for i, s in enumerate(["healthy", "degraded", "overloaded", "draining", "starting", "down"])}


def cascade_size_in(n_nodes: int) -> tuple[float, float]:
    return (12.0, max(5.0, 0.45 * n_nodes))


def cascade_groups(result) -> list[Group]:
    """The nodes of the figure: components, or groups by pool and zone for a large stack."""
    graph = result.graph
    names = list(graph.nodes)
    if len(names) <= GROUP_OVER:
        return group_components(graph, names, min_pool=10**9)  # every component alone
    return group_components(graph, names, min_pool=2, min_kind=3)


def collapsed_spread(of: dict[str, Group], cas: dict) -> tuple[dict[tuple[str, str], list[float]], dict[str, int]]:
    """The cascade's pushes collapsed per pair of groups (source group or ``fault:<id>``, target group): the
    times of the transitions each arrow stands for; and per group, the pushes that stayed inside it."""
    spread: dict[tuple[str, str], list[float]] = {}
    inside: dict[str, int] = {}
    roots = {r["fault"] for r in cas["roots"]}
    for row in cas["table"]:
        dst = of.get(row["component"])
        if dst is None:
            continue
        for by in row["pushed_by"]:
            src_name = by.split(" ")[0]
            if src_name in roots:
                key = (f"fault:{src_name}", dst.key)
            elif src_name in of and src_name != row["component"]:
                key = (of[src_name].key, dst.key)
            else:
                continue
            if key[0] == key[1]:
                inside[dst.key] = inside.get(dst.key, 0) + 1
            else:
                spread.setdefault(key, []).append(row["t_s"])
    return spread, inside


def _layout(groups: list[Group]) -> dict[str, tuple[float, float]]:
    tiers: dict[int, list[Group]] = {}
    for g in groups:
        tiers.setdefault(g.tier, []).append(g)
    pos = {}
    for x, tier in enumerate(sorted(tiers)):
        gs = sorted(tiers[tier], key=lambda g: (natural(g.pool), natural(g.zone), natural(g.key)))
        for i, g in enumerate(gs):
            pos[g.key] = (float(x), (len(gs) - 1) / 2 - i)
    return pos


def draw_cascade(result, analysis: dict):
    """The cascade over the (grouped) topology: roots, collapsed arrows in the order of spread, time labels."""
    groups = cascade_groups(result)
    grouped = any(g.size > 1 for g in groups)
    of = group_index(groups)
    pos = _layout(groups)
    cas = analysis["cascade"]
    fig, ax = plt.subplots(figsize=cascade_size_in(len(groups)))
    # the topology, collapsed to groups
    links = {(of[u].key, of[v].key) for u, v in result.graph.edges if u in of and v in of and of[u] != of[v]}
    for u, v in sorted(links):
        ax.annotate("", pos[v], pos[u], arrowprops={"arrowstyle": "-|>", "color": "#b0bec5", "lw": 0.8,
                                                    "shrinkA": 12, "shrinkB": 12, "alpha": 0.6})
    worst: dict[str, str] = {}
    reached: dict[str, set[str]] = {}
    for row in cas["table"]:
        g = of.get(row["component"])
        if g is None:
            continue
        st = row["state"]
        if st != "healthy" and RANK.get(st, 0) >= RANK.get(worst.get(g.key, "healthy"), 0):
            worst[g.key] = st
        reached.setdefault(g.key, set()).add(row["component"])
    hit = {of[c].key for c in cas.get("direct_victims", []) if c in of}
    spread, inside = collapsed_spread(of, cas)
    # fault roots in a row above the topology, each over the (mean of the) groups it hit
    top = max((p[1] for p in pos.values()), default=0.0) + 1.0
    placed: list[float] = []
    for root in cas["roots"]:
        pushed = {dst for (src, dst) in spread if src == f"fault:{root['fault']}"}
        targets = sorted({of[c].key for c in root["targets"] if c in of} | pushed)
        if not targets:
            continue
        x = float(np.mean([pos[t][0] for t in targets]))
        while any(abs(x - q) < 0.45 for q in placed):  # roots hitting the same tier sit side by side
            x += 0.5
        placed.append(x)
        pos[f"fault:{root['fault']}"] = (x, top)
        ax.annotate(f"{root['fault']}\n({root['kind']}, {root['t_s']:g} s)", (x, top), ha="center", va="center",
                    fontsize=8, color="white", bbox={"boxstyle": "round", "fc": "#c62828", "ec": "#c62828"},
                    zorder=5)
        for t in targets:  # a target whose change the table does not list still gets its arrow
            spread.setdefault((f"fault:{root['fault']}", t), [root["t_s"]])
    breached = {of[b["component"]].key for b in cas.get("slo_breaches", []) if b["component"] in of}
    colours = [STATE_COLOURS.get(worst[g.key], "#bdbdbd") if g.key in worst
               else (BREACHED_COLOUR if g.key in breached else "#eceff1") for g in groups]
    sizes = [300 * min(math.sqrt(g.size), 2.5) for g in groups]
    xy = np.array([pos[g.key] for g in groups])
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=colours, zorder=3,
               edgecolors=["#c62828" if g.key in hit else "#78909c" for g in groups],
               linewidths=[2.5 if g.key in hit else 1.0 for g in groups])
    for g in groups:
        x, y = pos[g.key]
        text = g.label
        if g.size > 1:
            text += f"\n{len(reached.get(g.key, ()))} of {g.size} reached"
            if inside.get(g.key):
                text += f", {inside[g.key]} pushes inside"
        # grouped: below the node (its right is where arcs inside its tier run); one per component: to its right,
        # as a tier of many replicas has no room below
        below = grouped
        ax.annotate(text, (x, y), xytext=(0, -13) if below else (10, -2), textcoords="offset points", fontsize=7,
                    ha="center" if below else "left", va="top", zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    t0 = cas["first_fault_s"] or 0.0
    _fix_limits(ax, pos)
    ordered = sorted(spread.items(), key=lambda kv: (min(kv[1]), kv[0]))
    ordered = [(k, v) for k, v in ordered if k[0] in pos and k[1] in pos]
    for i, ((src, dst), times) in enumerate(ordered, start=1):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        same_tier = abs(x0 - x1) < 1e-9
        n = len(times)
        # arcs inside a tier bulge to the right, away from the arrows coming in from the tier before
        rad = (0.5 if y1 > y0 else -0.5) if same_tier else 0.08
        arrow = {"arrowstyle": "-|>", "color": "#c62828", "lw": 1.0 + 0.8 * math.log2(n), "alpha": 0.85,
                 "shrinkA": 10, "shrinkB": 12, "connectionstyle": f"arc3,rad={rad}"}
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=arrow, zorder=2)
        if i <= MAX_ARROW_LABELS:  # the first steps of the spread are labelled; later ones are in the table
            label = f"{i}: +{min(times) - t0:.4g} s" + (f" ×{n}" if n > 1 else "")
            # cross-tier labels sit nearer their source, so arrows fanning out of one node keep theirs apart
            where = _arc_middle(ax, (x0, y0), (x1, y1), rad, 0.5 if same_tier else 0.38)
            ax.annotate(label, where, fontsize=7, color="#b71c1c",
                        ha="center", va="center", zorder=6,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    handles = [Patch(color=STATE_COLOURS[s], label=f"reached {s}") for s in STATE_COLOURS if s != "healthy"]
    handles.append(Patch(facecolor="#eceff1", edgecolor="#c62828", lw=2, label="hit by a fault directly"))
    if breached - set(worst):
        handles.append(Patch(color=BREACHED_COLOUR, label="breached its SLO share"))
    handles.append(Patch(color="#eceff1", label="not affected"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    title = "cascade: " + (cas["summary"] if not cas["empty"] else "none (no fault changed any component)")
    if grouped:
        title += " — replicas grouped by pool and zone; arrow width and ×n: transitions it stands for"
    lines = textwrap.wrap(title, 130)
    ax.set_title("\n".join(lines), fontsize=9)
    ax.axis("off")
    height_in = fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.02, right=0.86, top=1 - (0.25 + 0.16 * len(lines)) / height_in, bottom=0.02)
    return fig


def _fix_limits(ax, pos: dict[str, tuple[float, float]]) -> None:
    """Fix the axes' limits (12 % margins) so arc midpoints can be computed in display space now."""
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    dx = (max(xs) - min(xs)) or 1.0
    dy = (max(ys) - min(ys)) or 1.0
    ax.set_xlim(min(xs) - 0.12 * dx - 0.2, max(xs) + 0.12 * dx + 0.5)
    ax.set_ylim(min(ys) - 0.12 * dy - 0.3, max(ys) + 0.12 * dy + 0.3)


def _arc_middle(ax, p0: tuple[float, float], p1: tuple[float, float], rad: float,
                t: float = 0.5) -> tuple[float, float]:
    """The point at ``t`` along matplotlib's arc3 connection from p0 to p1 (a quadratic Bezier in display space)."""
    to_disp = ax.transData
    (ax0, ay0), (ax1, ay1) = to_disp.transform(p0), to_disp.transform(p1)
    mx, my = (ax0 + ax1) / 2, (ay0 + ay1) / 2
    cx, cy = mx + rad * (ay1 - ay0), my - rad * (ax1 - ax0)
    a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t ** 2
    point = (a * ax0 + b * cx + c * ax1, a * ay0 + b * cy + c * ay1)
    return tuple(to_disp.inverted().transform(point))
