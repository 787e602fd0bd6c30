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
    """(fault id, start, end) for every fault in the log; end is the run's end if it never stopped.

    (A one-shot fault such as a crash with restart is shaded to the end too: the figure shows that the
    fault happened; ``sim.analysis.windows.triggers`` decides when its trigger is over.)"""
    starts: dict[tuple[str, tuple[str, ...]], float] = {}
    out = []
    end_run = result.summary["duration_s"]
    for entry in result.fault_log:
        key = (entry["fault"], tuple(entry.get("targets", ())))  # stochastic faults fail per target
        if entry["event"] == "start":
            starts[key] = entry["t_s"]
        elif key in starts:
            out.append((entry["fault"], starts.pop(key), entry["t_s"]))
    out.extend((key[0], t0, end_run) for key, t0 in starts.items())
    return sorted(out, key=lambda w: w[1])


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


TIMELINE_SIZE_IN = (12.0, 11.0)
DPI = 100
ALERT_COLOUR = "#ff8f00"
MITIGATION_COLOUR = "#1565c0"


def _trigger_windows(result: RunResult, analysis: dict | None) -> list[tuple[str, float, float]]:
    """Windows to shade: the analysis' triggers (faults and surges; one-shot ones have end == start),
    else the fault log's windows."""
    if not analysis:
        return fault_windows(result)
    end_s = result.summary["duration_s"]
    return [(t["label"], t["start_s"], end_s if t["end_s"] is None else t["end_s"]) for t in analysis["triggers"]]


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


def has_ttft(result: RunResult) -> bool:
    """Whether a run has a time to first token worth drawing: some pool serves an LLM.

    A plain-mode server answers in one piece, so its "first token" is the whole answer and a TTFT
    line would only repeat the latency line."""
    topology = getattr(getattr(result, "scenario", None), "topology", None)
    if topology is not None:
        return any(p.server.mode == "llm" for p in topology.pools)
    col = result.timeseries.get("ttft_p99_s")
    return col is not None and bool(np.isfinite(np.asarray(col, dtype=float)).any())


def time_axis_label(analysis: dict | None) -> str:
    """'simulated time (s)', or the wall clock's zone when the run has a ``run.start_at`` anchor."""
    anchor = (analysis or {}).get("run", {}).get("clock")
    return f"clock time ({anchor['zone']}, from {anchor['start']})" if anchor else "simulated time (s)"


def clock_ticks(ax, analysis: dict | None) -> None:
    """With a wall-clock anchor, label the shared time axis in clock times (HH:MM) instead of seconds."""
    anchor = (analysis or {}).get("run", {}).get("clock")
    if not anchor:
        return
    from matplotlib.ticker import FuncFormatter

    from sim.analysis.clock import Anchor

    clk = Anchor.from_dict(anchor)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: clk.hhmm(x)))


def draw_timeline(result: RunResult, analysis: dict | None = None):
    """The run's timeline: request rates, success ratio, latency / TTFT, failures by reason (stacked).

    Fault windows are shaded red; with an analysis, alert firing spans (orange) and mitigations
    (blue dashed) are marked too.
    """
    ts = result.timeseries
    t = np.asarray(ts["t_s"], dtype=float)
    bucket = float(t[1] - t[0]) if len(t) > 1 else float(result.summary["duration_s"])
    mid = t + bucket / 2
    windows = _trigger_windows(result, analysis)
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


def swimlane_size_in(n_components: int) -> tuple[float, float]:
    """Figure size of the swimlanes: one row per component."""
    return (12.0, 1.6 + 0.32 * max(1, n_components))


def draw_swimlanes(result: RunResult, analysis: dict | None = None):
    """One row per component, coloured by state over time; cascade transitions marked with their generation."""
    segs = state_segments(result)
    comps = list(segs)
    fig, ax = plt.subplots(figsize=swimlane_size_in(len(comps)))
    rows = {comp: row for row, comp in enumerate(reversed(comps))}
    for comp in comps:
        for t0, t1, st in segs[comp]:
            ax.barh(rows[comp], t1 - t0, left=t0, height=0.8, color=STATE_COLOURS.get(st, "#bdbdbd"), lw=0)
    if analysis:
        labelled = set()
        for row in analysis["cascade"]["table"]:
            if row["component"] in rows:
                y = rows[row["component"]]
                ax.plot(row["t_s"], y, marker="v", color="black", ms=5)
                if (row["component"], row["generation"]) not in labelled:
                    labelled.add((row["component"], row["generation"]))
                    ax.annotate(f"g{row['generation']}", (row["t_s"], y + 0.42), fontsize=6, ha="center",
                                va="bottom")
    for label, t0, _ in _trigger_windows(result, analysis):
        ax.axvline(t0, color="#c62828", lw=1, ls="--")
        ax.annotate(label, (t0, 1.0), xycoords=("data", "axes fraction"), fontsize=7, color="#c62828",
                    rotation=90, va="top", ha="right")
    ax.set_yticks(range(len(comps)))
    ax.set_yticklabels(list(reversed(comps)), fontsize=7)
    ax.set_ylim(-0.6, max(0.6, len(comps) - 0.4))
    ax.set_xlim(0, result.summary["duration_s"])
    ax.set_xlabel("simulated time (s)")
    ax.set_title("component states (▼ cascade transition, gN = generation)")
    handles = [Patch(color=c, label=s) for s, c in STATE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="state")
    ax.grid(alpha=0.25, axis="x")
    height = swimlane_size_in(len(comps))[1]
    fig.subplots_adjust(left=0.1, right=0.86, top=1 - 0.45 / height, bottom=0.6 / height)
    return fig


MAX_ARROW_LABELS = 12
"""Arrows of the cascade figure that get a number and a time label (the rest are in the report's table)."""


def cascade_size_in(n_nodes: int) -> tuple[float, float]:
    return (12.0, max(5.0, 0.45 * n_nodes))


def draw_cascade(result: RunResult, analysis: dict):
    """The cascade over the topology: roots, arrows in the order of spread, time labels."""
    import networkx as nx

    topo = result.graph
    fig, ax = plt.subplots(figsize=cascade_size_in(topo.number_of_nodes()))
    pos = tiered_layout(topo)
    cas = analysis["cascade"]
    worst: dict[str, str] = {}
    order = list(STATE_COLOURS)
    rank = {s: i for i, s in enumerate(["healthy", "degraded", "overloaded", "draining", "starting", "down"])}
    for row in cas["table"]:
        st = row["state"]
        if st != "healthy" and rank.get(st, 0) >= rank.get(worst.get(row["component"], "healthy"), 0):
            worst[row["component"]] = st
    nx.draw_networkx_edges(topo, pos, ax=ax, arrows=True, alpha=0.15, arrowsize=8, edge_color="#616161")
    colours = [STATE_COLOURS.get(worst[n], "#bdbdbd") if n in worst else "#eceff1" for n in topo.nodes]
    hit = set(cas.get("direct_victims", []))
    nx.draw_networkx_nodes(topo, pos, ax=ax, node_color=colours, node_size=300,
                           edgecolors=["#c62828" if n in hit else "#78909c" for n in topo.nodes],
                           linewidths=[2.5 if n in hit else 1.0 for n in topo.nodes])
    for n, (x, y) in pos.items():
        zone = topo.nodes[n].get("zone", "")
        ax.annotate(f"{n}" + (f" ({zone})" if zone else ""), (x, y), xytext=(9, -2), textcoords="offset points",
                    fontsize=7, ha="left", va="top")
    # component-level spread edges, first occurrence of each, in time order
    seen: dict[tuple[str, str], float] = {}
    for row in cas["table"]:
        for by in row["pushed_by"]:
            src = by.split(" ")[0]
            key = (src, row["component"])
            if src != row["component"] and src in pos and key not in seen:
                seen[key] = row["t_s"]
    roots = cas["roots"]
    t0 = cas["first_fault_s"] or 0.0
    ys = [p[1] for p in pos.values()] or [0.0]
    for k, root in enumerate(roots):
        targets = [c for c in root["targets"] if c in pos]
        if not targets:
            continue
        x = float(np.mean([pos[c][0] for c in targets])) + 0.45
        y = float(np.mean([pos[c][1] for c in targets])) + (max(ys) - min(ys) + 1) * 0.12 * k
        pos[f"fault:{root['fault']}"] = (x, y)
        ax.plot([x - 0.2, x + 0.2], [y, y], alpha=0)  # keep the root's label inside the axes
        ax.annotate(f"{root['fault']}\n({root['kind']}, {root['t_s']:g} s)", (x, y), ha="center", va="center",
                    fontsize=8, color="white", bbox={"boxstyle": "round", "fc": "#c62828", "ec": "#c62828"})
        for c in targets:
            if _in_cascade(cas, c):
                seen.setdefault((f"fault:{root['fault']}", c), root["t_s"])
    dense = len(seen) > MAX_ARROW_LABELS
    for i, ((src, dst), t_s) in enumerate(sorted(seen.items(), key=lambda kv: (kv[1], kv[0])), start=1):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        same_tier = abs(x0 - x1) < 1e-9
        arrow = {"arrowstyle": "-|>", "color": "#c62828", "lw": 0.9 if dense else 1.6, "alpha": 0.7 if dense else 1,
                 "shrinkA": 8, "shrinkB": 8, "connectionstyle": f"arc3,rad={0.6 if same_tier else 0.1}"}
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=arrow)
        if i <= MAX_ARROW_LABELS:  # the first steps of the spread are labelled; later ones are listed in the table
            lx = (x0 + x1) / 2 + (0.6 * abs(y1 - y0) / 2 if same_tier else 0)
            ax.annotate(f"{i}: +{t_s - t0:.4g} s", (lx, (y0 + y1) / 2), fontsize=7, color="#b71c1c", ha="center",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    handles = [Patch(color=STATE_COLOURS[s], label=f"reached {s}") for s in order if s != "healthy"]
    handles.append(Patch(facecolor="#eceff1", edgecolor="#c62828", lw=2, label="hit by a fault directly"))
    handles.append(Patch(color="#eceff1", label="not affected"))
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    import textwrap

    title = "cascade: " + (cas["summary"] if not cas["empty"] else "none (no fault changed any component)")
    ax.set_title("\n".join(textwrap.wrap(title, 140)), fontsize=9)
    ax.axis("off")
    ax.margins(0.12)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.02)
    return fig


def _in_cascade(cascade: dict, component: str) -> bool:
    return any(r["component"] == component for r in cascade["table"])


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
