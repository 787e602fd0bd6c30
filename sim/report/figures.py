"""Figures of a run (matplotlib, Agg backend): the timeline of traffic, success, latency and states.

Colours are fixed per state and per failure reason so that every figure reads the same way.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.observe.result import RunResult  # noqa: E402
from sim.report.files import atomic_write_with  # noqa: E402

STATE_COLOURS = {
    "healthy": "#4caf50",
    "degraded": "#ffc107",
    "overloaded": "#ff7043",
    "draining": "#90a4ae",
    "starting": "#42a5f5",
    "down": "#c62828",
}
REASON_COLOURS = {
    "timeout": "#8e24aa",
    "rejected": "#ef6c00",
    "rate_limited": "#fdd835",
    "no_healthy_upstream": "#6d4c41",
    "server_error": "#d32f2f",
    "dependency_error": "#1e88e5",
    "network_error": "#00897b",
    "cancelled": "#757575",
    "wrong_answer": "#ad1457",
    "degraded": "#7cb342",
}
PNG_METADATA = {"Software": None}


def fault_windows(result: RunResult) -> list[tuple[str, float, float]]:
    """(fault id, start, end) for every fault in the log; end is the run's end if it never stopped."""
    starts: dict[str, float] = {}
    out = []
    end_run = result.summary["duration_s"]
    for entry in result.fault_log:
        if entry["event"] == "start":
            starts[entry["fault"]] = entry["t_s"]
        elif entry["fault"] in starts:
            out.append((entry["fault"], starts.pop(entry["fault"]), entry["t_s"]))
    out.extend((fid, t0, end_run) for fid, t0 in starts.items())
    return sorted(out, key=lambda w: w[1])


def _shade(ax, windows) -> None:
    for _, t0, t1 in windows:
        ax.axvspan(t0, max(t1, t0 + 1e-9), color="#c62828", alpha=0.08, lw=0)


def state_segments(result: RunResult) -> dict[str, list[tuple[float, float, str]]]:
    """Per component, (start, end, state) segments covering the whole run."""
    end_run = result.summary["duration_s"]
    segs: dict[str, list[tuple[float, float, str]]] = {}
    open_: dict[str, tuple[float, str]] = {}
    for t in result.transitions:
        if t.component in open_:
            t0, st = open_[t.component]
            if t.t_s > t0:
                segs.setdefault(t.component, []).append((t0, t.t_s, st))
        else:
            segs.setdefault(t.component, [])
        open_[t.component] = (t.t_s, t.state)
    for comp, (t0, st) in open_.items():
        segs[comp].append((t0, end_run, st))
    return segs


def draw_timeline(result: RunResult):
    """The run's timeline figure: throughput, success ratio, latency, and component states."""
    ts = result.timeseries
    t = ts["t_s"]
    bucket = float(t[1] - t[0]) if len(t) > 1 else 1.0
    mid = t + bucket / 2
    windows = fault_windows(result)
    segs = state_segments(result)
    comps = list(segs)
    fig, axes = plt.subplots(
        4, 1, figsize=(12, 9 + 0.18 * len(comps)), sharex=True,
        gridspec_kw={"height_ratios": [2, 1.3, 1.6, max(1.5, 0.22 * len(comps))]},
    )
    ax = axes[0]
    ax.plot(mid, ts["arrivals"] / bucket, color="#455a64", lw=1.2, label="arrivals")
    ax.plot(mid, ts["attempts"] / bucket, color="#9e9e9e", lw=1, ls="--", label="attempts (with retries)")
    ax.plot(mid, ts["goodput_rps"], color="#2e7d32", lw=1.4, label="goodput (successes)")
    ax.set_ylabel("requests / s")
    ax.set_title(f"{result.summary['scenario']} — seed {result.seed}")
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[1]
    ax.plot(mid, ts["success_ratio"], color="#2e7d32", lw=1.2)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("success ratio")
    ax = axes[2]
    ax.plot(mid, ts["latency_p99_s"], color="#6a1b9a", lw=1.2, label="p99 latency")
    ax.plot(mid, ts["latency_p50_s"], color="#ab47bc", lw=1, label="p50 latency")
    ax.plot(mid, ts["ttft_p99_s"], color="#ef6c00", lw=1, ls="--", label="p99 TTFT")
    ax.set_yscale("log")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[3]
    for row, comp in enumerate(reversed(comps)):
        for t0, t1, st in segs[comp]:
            ax.barh(row, t1 - t0, left=t0, height=0.8, color=STATE_COLOURS[st], lw=0)
    ax.set_yticks(range(len(comps)))
    ax.set_yticklabels(list(reversed(comps)), fontsize=7)
    ax.set_xlabel("simulated time (s)")
    ax.legend(handles=[Patch(color=c, label=s) for s, c in STATE_COLOURS.items()], loc="upper left",
              bbox_to_anchor=(1.0, 1.0), fontsize=8, title="state")
    for a in axes:
        _shade(a, windows)
        a.grid(alpha=0.25)
    for fid, t0, _ in windows:
        axes[0].annotate(fid, (t0, 1.0), xycoords=("data", "axes fraction"), fontsize=7, color="#c62828",
                         rotation=90, va="top", ha="right")
    ax.set_xlim(0, result.summary["duration_s"])
    fig.tight_layout()
    return fig


def save_timeline(result: RunResult, path: Path) -> Path:
    """Draw and save the timeline PNG atomically."""
    fig = draw_timeline(result)
    try:
        atomic_write_with(Path(path), lambda tmp: fig.savefig(tmp, dpi=100, format="png", metadata=PNG_METADATA))
    finally:
        plt.close(fig)
    return Path(path)


def _natural(name: str) -> list:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def tiered_layout(graph) -> dict[str, tuple[float, float]]:
    """Positions by tier (x) and by natural name order within a tier (y), so gpu-2 sits below gpu-1."""
    tiers: dict[int, list[str]] = {}
    for node, data in graph.nodes(data=True):
        tiers.setdefault(data["tier"], []).append(node)
    pos = {}
    for x, tier in enumerate(sorted(tiers)):
        names = sorted(tiers[tier], key=_natural)
        for i, name in enumerate(names):
            pos[name] = (float(x), (len(names) - 1) / 2 - i)
    return pos


def save_topology(graph, path: Path) -> Path:
    """Draw the topology graph in tiers (clients left, databases right) and save it as PNG."""
    import networkx as nx

    fig, ax = plt.subplots(figsize=(12, max(4, 0.5 * graph.number_of_nodes())))
    pos = tiered_layout(graph)
    kinds = nx.get_node_attributes(graph, "kind")
    colour = {"client": "#78909c", "discovery": "#8d6e63", "load_balancer": "#1e88e5", "server": "#43a047",
              "cache": "#fdd835", "database": "#8e24aa"}
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=True, alpha=0.4, arrowsize=10)
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=[colour[kinds[n]] for n in graph.nodes], node_size=500)
    labels = {n: f"{n}\n{graph.nodes[n]['zone']}" if graph.nodes[n]["zone"] else n for n in graph.nodes}
    label_pos = {n: (x, y - 0.4) for n, (x, y) in pos.items()}
    nx.draw_networkx_labels(graph, label_pos, labels=labels, ax=ax, font_size=7)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in colour.items()], loc="lower left", fontsize=8)
    ax.set_title(f"topology: {graph.graph.get('name', '')}")
    ax.axis("off")
    fig.tight_layout()
    try:
        atomic_write_with(Path(path), lambda tmp: fig.savefig(tmp, dpi=100, format="png", metadata=PNG_METADATA))
    finally:
        plt.close(fig)
    return Path(path)
