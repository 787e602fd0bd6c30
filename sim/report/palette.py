"""What every figure shares: colours per state and per failure reason, state segments, trigger
windows and the time axis (simulated seconds, or clock times with ``run.start_at``).

Colours are fixed per state and per failure reason so that every figure, static or interactive,
reads the same way. This module imports no figure module, so each figure module can import it.
"""

from __future__ import annotations

import numpy as np

from sim.observe.result import RunResult

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


def trigger_windows(result: RunResult, analysis: dict | None) -> list[tuple[str, float, float]]:
    """Windows to shade: the analysis' triggers (faults and surges; one-shot ones have end == start),
    else the fault log's windows."""
    if not analysis:
        return fault_windows(result)
    end_s = result.summary["duration_s"]
    return [(t["label"], t["start_s"], end_s if t["end_s"] is None else t["end_s"]) for t in analysis["triggers"]]


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


