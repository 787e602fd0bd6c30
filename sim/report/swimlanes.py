"""Component swimlanes: states over time, by pool and zone, with one aggregate lane per large pool.

A lane is one component coloured by its state over time, or, for a pool with more than
``AGGREGATE_OVER`` replicas, one lane per zone of that pool stacking the share of its replicas in
each state (a restart herd of 56 replicas reads as a few bands going red and blue, not 56 rows).
Lanes are ordered by tier (clients, load balancers, replicas, data stores), then pool, then zone,
and a line separates pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # as sim.report.figures: no display needed, same bytes everywhere
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.report.grouping import Group, group_components  # noqa: E402
from sim.report.palette import STATE_COLOURS, clock_ticks, state_segments, time_axis_label, trigger_windows  # noqa: E402

AGGREGATE_OVER = 8
"""A pool with more replicas than this is drawn as aggregate lanes (one per zone)."""


@dataclass(frozen=True)
class Lane:
    label: str
    group: Group
    aggregate: bool


def lanes(result) -> list[Lane]:
    """The lanes of a run, top to bottom."""
    segs = state_segments(result)
    groups = group_components(getattr(result, "graph", None), list(segs), min_pool=AGGREGATE_OVER + 1)
    return [Lane(g.label if g.size > 1 else g.members[0], g, g.size > 1) for g in groups]


def swimlane_size_in(n_lanes: int) -> tuple[float, float]:
    """Figure size of the swimlanes: one row per lane."""
    return (12.0, 1.6 + 0.32 * max(1, n_lanes))


def state_shares(segments: dict[str, list[tuple[float, float, str]]], members: tuple[str, ...]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Breakpoints and, per state, the share of ``members`` in it from each breakpoint to the next."""
    edges = sorted({t for m in members for (t0, t1, _) in segments.get(m, []) for t in (t0, t1)})
    bp = np.asarray(edges, dtype=float)
    n = max(1, len(members))
    out: dict[str, np.ndarray] = {}
    for state in STATE_COLOURS:
        delta = np.zeros(len(bp) + 1)
        for m in members:
            for t0, t1, st in segments.get(m, []):
                if st == state and t1 > t0:
                    delta[np.searchsorted(bp, t0)] += 1
                    delta[np.searchsorted(bp, t1)] -= 1
        out[state] = np.cumsum(delta)[:len(bp)] / n
    return bp, out


def draw_swimlanes(result, analysis: dict | None = None):
    """Lanes by pool and zone, coloured by state over time; cascade transitions marked with their generation."""
    segs = state_segments(result)
    rows = lanes(result)
    fig, ax = plt.subplots(figsize=swimlane_size_in(len(rows)))
    y_of: dict[str, float] = {}
    top = len(rows) - 1
    for i, lane in enumerate(rows):
        y = top - i
        for name in lane.group.members:
            y_of[name] = y
        if lane.aggregate:
            bp, shares = state_shares(segs, lane.group.members)
            base = np.full(len(bp), y - 0.4)
            for state, share in shares.items():
                if share.any():
                    ax.fill_between(bp, base, base + 0.8 * share, step="post", color=STATE_COLOURS[state], lw=0)
                base = base + 0.8 * share
        else:
            for t0, t1, st in segs[lane.group.members[0]]:
                ax.barh(y, t1 - t0, left=t0, height=0.8, color=STATE_COLOURS.get(st, "#bdbdbd"), lw=0)
        if i and (rows[i - 1].group.pool != lane.group.pool or rows[i - 1].group.tier != lane.group.tier):
            ax.axhline(y + 0.5, color="#546e7a", lw=0.8)
    if analysis:
        labelled: set[tuple[float, int]] = set()
        for row in analysis["cascade"]["table"]:
            y = y_of.get(row["component"])
            if y is None or (y, row["generation"]) in labelled:
                continue  # an aggregate lane marks the first transition of each generation only
            labelled.add((y, row["generation"]))
            ax.plot(row["t_s"], y, marker="v", color="black", ms=5)
            ax.annotate(f"g{row['generation']}", (row["t_s"], y + 0.42), fontsize=6, ha="center", va="bottom")
    for label, t0, _ in trigger_windows(result, analysis):
        ax.axvline(t0, color="#c62828", lw=1, ls="--")
        ax.annotate(label, (t0, 1.0), xycoords=("data", "axes fraction"), fontsize=7, color="#c62828",
                    rotation=90, va="top", ha="right")
    ax.set_yticks([top - i for i in range(len(rows))])
    ax.set_yticklabels([lane.label for lane in rows], fontsize=7)
    ax.set_ylim(-0.6, max(0.6, len(rows) - 0.4))
    ax.set_xlim(0, result.summary["duration_s"])
    ax.set_xlabel(time_axis_label(analysis))
    clock_ticks(ax, analysis)
    aggregated = any(lane.aggregate for lane in rows)
    ax.set_title("component states by pool and zone (▼ cascade transition, gN = generation"
                 + ("; a lane 'pool · zone (n)' stacks the share of its n replicas in each state)" if aggregated
                    else ")"), fontsize=10)
    handles = [Patch(color=c, label=s) for s, c in STATE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="state")
    ax.grid(alpha=0.25, axis="x")
    height = swimlane_size_in(len(rows))[1]
    fig.subplots_adjust(left=0.14, right=0.86, top=1 - 0.45 / height, bottom=0.6 / height)
    return fig
