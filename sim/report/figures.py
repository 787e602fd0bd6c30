"""Figures of a run (matplotlib, Agg backend): the timeline of traffic, success, latency and states.

Colours are fixed per state and per failure reason so that every figure reads the same way.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.observe.result import RunResult  # noqa: E402
from sim.report.atomic import atomic_write_with  # noqa: E402
from sim.report.cascade_figure import cascade_size_in, draw_cascade  # noqa: E402, F401 (part of this module's API)
from sim.report.palette import (  # noqa: E402, F401 (part of this module's API)
    REASON_COLOURS,
    STATE_COLOURS,
    clock_ticks,
    fault_windows,
    has_ttft,
    state_segments,
    time_axis_label,
    trigger_windows,
)
from sim.report.swimlanes import draw_swimlanes, swimlane_size_in  # noqa: E402, F401 (part of this module's API)

PNG_METADATA = {"Software": None}


TRIGGER_COLOUR = "#c62828"


def _shade(ax, windows) -> None:
    """Trigger windows: a light red band with solid edges and a red strip along the top of the panel.

    Alert marks use the bottom strip (see ``_mark_incident``), so a trigger stays visible under an alert."""
    for _, t0, t1 in windows:
        if t1 > t0:
            ax.axvspan(t0, t1, color=TRIGGER_COLOUR, alpha=0.07, lw=0, zorder=0)
            ax.axvspan(t0, t1, ymin=0.97, ymax=1.0, color=TRIGGER_COLOUR, alpha=0.8, lw=0, zorder=3)
            for edge in (t0, t1):
                ax.axvline(edge, color=TRIGGER_COLOUR, lw=0.8, alpha=0.6, zorder=3)
        else:  # a one-shot trigger: a line
            ax.axvline(t0, color=TRIGGER_COLOUR, lw=1.2, alpha=0.7, zorder=3)


TIMELINE_SIZE_IN = (12.0, 11.0)
DPI = 100
ALERT_COLOUR = "#ff8f00"
MITIGATION_COLOUR = "#1565c0"


def _alert_spans(analysis: dict | None) -> list[tuple[str, float, float | None]]:
    if not analysis:
        return []
    return [(e["alert"], e["fired_s"], e["resolved_s"]) for e in analysis["incident"]["alerts"]]


def _mark_incident(axes, analysis: dict | None, end_s: float) -> list:
    """Alert firing spans (orange) and mitigation marks (blue dashed lines) on every panel; legend handles."""
    handles = []
    spans = _alert_spans(analysis)
    mitigations = analysis["incident"]["mitigations"] if analysis else []
    for a in axes:
        for _, t0, t1 in spans:  # a strip along the bottom: the trigger's band and edges stay visible above it
            a.axvspan(t0, t1 if t1 is not None else end_s, ymin=0.0, ymax=0.04, color=ALERT_COLOUR, alpha=0.9,
                      lw=0, zorder=3)
        for m in mitigations:
            a.axvline(m["at_s"], color=MITIGATION_COLOUR, lw=1.2, ls="--")
    for m in mitigations:
        axes[0].annotate(m["name"], (m["at_s"], 0.98), xycoords=("data", "axes fraction"), fontsize=7,
                         color=MITIGATION_COLOUR, rotation=90, va="top", ha="left")
    if spans:
        handles.append(Patch(facecolor=ALERT_COLOUR, alpha=0.9, label="alert firing"))
    if mitigations:
        handles.append(Line2D([0], [0], color=MITIGATION_COLOUR, ls="--", label="mitigation"))
    return handles


def _legend_outside(ax, **kwargs) -> None:
    """A legend to the right of the panel, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, borderaxespad=0, **kwargs)


def draw_timeline(result: RunResult, analysis: dict | None = None):
    """The run's timeline: request rates, success ratio, latency / TTFT, failures by reason (stacked).

    Fault windows are shaded red; with an analysis, alert firing spans (orange) and mitigations
    (blue dashed) are marked too.
    """
    ts = result.timeseries
    t = np.asarray(ts["t_s"], dtype=float)
    bucket = float(t[1] - t[0]) if len(t) > 1 else float(result.summary["duration_s"])
    mid = t + bucket / 2
    windows = trigger_windows(result, analysis)
    end_s = result.summary["duration_s"]
    fig, axes = plt.subplots(4, 1, figsize=TIMELINE_SIZE_IN, sharex=True,
                             gridspec_kw={"height_ratios": [2, 1.2, 1.6, 1.6]})
    ax = axes[0]
    ax.plot(mid, ts["arrivals"] / bucket, color="#455a64", lw=1.2, label="arrivals")
    ax.plot(mid, ts["attempts"] / bucket, color="#9e9e9e", lw=1, ls="--", label="attempts (with retries)")
    ax.plot(mid, ts["goodput_rps"], color="#2e7d32", lw=1.4, label="goodput (successes)")
    ax.set_ylabel("requests / s")
    ax.set_ylim(bottom=0)  # a rate axis starts at zero, so a dip reads at its true size
    ax.set_title(f"{result.summary['scenario']} — seed {result.seed}: traffic, success, latency, failures")
    ax = axes[1]
    ax.plot(mid, ts["success_ratio"], color="#2e7d32", lw=1.2, label="success ratio")
    slo = getattr(getattr(result, "scenario", None), "slo", None)
    if slo is not None:
        ax.axhline(slo.availability, color="#c62828", lw=0.8, ls=":", label=f"SLO {slo.availability:g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("success ratio")
    _legend_outside(ax)
    ax = axes[2]
    ax.plot(mid, ts["latency_p99_s"], color="#6a1b9a", lw=1.2, label="p99 latency")
    ax.plot(mid, ts["latency_p50_s"], color="#ab47bc", lw=1, label="p50 latency")
    if has_ttft(result):  # plain-mode servers have no first token: no TTFT line
        ax.plot(mid, ts["ttft_p99_s"], color="#ef6c00", lw=1, ls="--", label="p99 TTFT")
        ax.plot(mid, ts["ttft_p50_s"], color="#ffa726", lw=0.9, ls=":", label="p50 TTFT")
    if np.isfinite(np.asarray(ts["latency_p99_s"], dtype=float)).any():
        ax.set_yscale("log")
    ax.set_ylabel("seconds")
    _legend_outside(ax)
    ax = axes[3]
    reasons = [r for r in REASON_COLOURS if f"outcome_{r}" in ts and r not in ("degraded",)]
    stacks = [np.asarray(ts[f"outcome_{r}"], dtype=float) / bucket for r in reasons]
    shown = [(r, y) for r, y in zip(reasons, stacks, strict=True) if y.any()]
    if shown:
        ax.stackplot(mid, *[y for _, y in shown], colors=[REASON_COLOURS[r] for r, _ in shown],
                     labels=[r for r, _ in shown], step=None, alpha=0.9)
        _legend_outside(ax, title="failure reason")
    else:
        ax.text(0.5, 0.5, "no failures", transform=ax.transAxes, ha="center", va="center", color="#757575")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("failures / s")
    ax.set_title("failures by reason (and wrong answers), stacked", fontsize=9)
    ax.set_xlabel(time_axis_label(analysis))
    for a in axes:
        _shade(a, windows)
        a.grid(alpha=0.25)
    labelled: set[str] = set()
    for fid, t0, _ in windows:
        if fid in labelled:  # recurring and stochastic faults: name the first window only
            continue
        labelled.add(fid)
        axes[0].annotate(fid, (t0, 0.96), xycoords=("data", "axes fraction"), fontsize=7, color="#c62828",
                         rotation=90, va="top", ha="right")
    extra = _mark_incident(axes, analysis, end_s)
    handles, _ = axes[0].get_legend_handles_labels()
    if windows:
        extra.insert(0, Patch(color="#c62828", alpha=0.3, label="trigger (fault, surge)"))
    _legend_outside(axes[0], handles=handles + extra)
    clock_ticks(axes[-1], analysis)
    ax.set_xlim(0, end_s)
    fig.subplots_adjust(left=0.07, right=0.83, top=0.96, bottom=0.05, hspace=0.12)
    return fig


def _save(fig, path: Path, fmt: str) -> Path:
    meta = PNG_METADATA if fmt == "png" else {"Date": None, "Creator": None}
    with plt.rc_context({"svg.hashsalt": "chaossim", "svg.fonttype": "none"}):
        atomic_write_with(Path(path), lambda tmp: fig.savefig(tmp, dpi=DPI, format=fmt, metadata=meta))
    return Path(path)


def save_figure(fig, stem: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Save a figure as stem.png and stem.svg (deterministic bytes), then close it."""
    try:
        return [_save(fig, Path(stem).with_suffix(f".{fmt}"), fmt) for fmt in formats]
    finally:
        plt.close(fig)


def figure_png(fig) -> bytes:
    """A figure as PNG bytes (for inlining), closing it."""
    import io

    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=DPI, format="png", metadata=PNG_METADATA)
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_timeline(result: RunResult, path: Path, analysis: dict | None = None) -> Path:
    """Draw and save the timeline PNG atomically."""
    fig = draw_timeline(result, analysis)
    try:
        _save(fig, Path(path), "png")
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


def save_swimlanes(result: RunResult, path: Path, analysis: dict | None = None) -> Path:
    """Draw and save the component swimlanes PNG atomically."""
    fig = draw_swimlanes(result, analysis)
    try:
        _save(fig, Path(path), "png")
    finally:
        plt.close(fig)
    return Path(path)


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
