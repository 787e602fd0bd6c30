"""The static figure of a comparison (matplotlib, as a run's static figures): the key time series of
two or more runs overlaid — goodput and arrivals, success ratio against the SLO, p99 latency (and
p99 TTFT for LLM servers) — the control solid, every variant dashed, its trigger windows shaded.

It is the comparison page's figure for papers (PNG and SVG, deterministic bytes), beside the
interactive overlay.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # as sim.report.figures: no display needed, same bytes everywhere
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.report.palette import clock_ticks, has_ttft, time_axis_label, trigger_windows  # noqa: E402

RUN_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00")
"""One colour per run (control first); the line style says control (solid) or variant (dashed)."""
OVERLAY_SIZE_IN = (12.0, 9.0)


def _mid(ts: dict[str, Any]) -> tuple[np.ndarray, float]:
    t = np.asarray(ts["t_s"], dtype=float)
    bucket = float(t[1] - t[0]) if len(t) > 1 else 1.0
    return t + bucket / 2, bucket


def draw_comparison(runs: list[tuple[str, Any, dict[str, Any]]]):
    """``runs``: (label, run data, analysis) per run, the control first. Returns the figure."""
    ttft = any(has_ttft(data) for _, data, _ in runs)
    fig, axes = plt.subplots(3, 1, figsize=OVERLAY_SIZE_IN, sharex=True, gridspec_kw={"height_ratios": [2, 1.3, 1.6]})
    end_s = max(float(data.summary["duration_s"]) for _, data, _ in runs)
    for i, (label, data, analysis) in enumerate(runs):
        ts = data.timeseries
        mid, bucket = _mid(ts)
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        ls = "-" if i == 0 else "--"
        axes[0].plot(mid, ts["goodput_rps"], color=colour, lw=1.4, ls=ls, label=f"{label}: goodput")
        axes[0].plot(mid, ts["arrivals"] / bucket, color=colour, lw=0.8, ls=ls, alpha=0.45, label=f"{label}: arrivals")
        axes[1].plot(mid, ts["success_ratio"], color=colour, lw=1.2, ls=ls, label=label)
        axes[2].plot(mid, ts["latency_p99_s"], color=colour, lw=1.2, ls=ls, label=f"{label}: p99 latency")
        if ttft and has_ttft(data):
            axes[2].plot(mid, ts["ttft_p99_s"], color=colour, lw=0.9, ls=ls, alpha=0.6, label=f"{label}: p99 TTFT")
        for _, t0, t1 in trigger_windows(data, analysis):
            for ax in axes:
                if t1 > t0:
                    ax.axvspan(t0, t1, color=colour, alpha=0.05, lw=0, zorder=0)
                else:
                    ax.axvline(t0, color=colour, lw=0.8, alpha=0.5)
    slo = runs[0][1].scenario.slo
    axes[1].axhline(slo.availability, color="#424242", lw=0.8, ls=":", label=f"SLO {slo.availability:g}")
    axes[0].set_ylabel("requests / s")
    axes[0].set_ylim(bottom=0)  # rate axes start at zero
    axes[1].set_ylabel("success ratio")
    axes[1].set_ylim(-0.02, 1.02)
    axes[2].set_ylabel("seconds")
    if any(np.isfinite(np.asarray(d.timeseries["latency_p99_s"], dtype=float)).any() for _, d, _ in runs):
        axes[2].set_yscale("log")
    axes[2].set_xlabel(time_axis_label(runs[0][2]))
    clock_ticks(axes[2], runs[0][2])
    axes[2].set_xlim(0, end_s)
    names = " vs ".join(label for label, _, _ in runs)
    axes[0].set_title(f"{names}: the control solid, the variant dashed; shading: each run's triggers", fontsize=10)
    for ax in axes:
        ax.grid(alpha=0.25)
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, borderaxespad=0)
    fig.subplots_adjust(left=0.07, right=0.78, top=0.95, bottom=0.07, hspace=0.12)
    return fig
