"""Figures of experiments (matplotlib, Agg): design means with CIs, a metric against a parameter with a
CI band, a heatmap over two parameters. Each figure is written atomically as PNG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim.experiment.store import write_atomic  # noqa: E402


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return path


def _panels(n: int, width_in: float = 4.2, height_in: float = 3.2):
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width_in * cols, height_in * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def comparison_figure(cmp: Any, path: Path) -> Path:
    """One panel per headline metric: each design's mean with its 95 % CI (the paired tests are in the text)."""
    fig, axes = _panels(len(cmp.headline))
    for ax, metric in zip(axes, cmp.headline, strict=True):
        xs, means, errs = [], [], []
        for i, d in enumerate(cmp.designs):
            s = cmp.stats[d].get(metric)
            if s is not None and s.mean is not None:
                xs.append(i)
                means.append(s.mean)
                errs.append(s.half_width or 0.0)
        ax.errorbar(xs, means, yerr=errs, fmt="o", capsize=4, color="tab:blue")
        ax.set_xticks(range(len(cmp.designs)), cmp.designs, rotation=20, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{len(cmp.designs)} designs, {len(cmp.seeds)} common seeds: mean and 95 % CI", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def sweep_line_figure(points: Sequence[dict[str, Any]], param: str, metrics: Sequence[str], path: Path,
                      group: str | None = None) -> Path:
    """A metric against one parameter: the mean and a shaded 95 % CI band (one line per ``group`` value)."""
    fig, axes = _panels(len(metrics))
    groups = sorted({p.get(group) for p in points}, key=_sort_key) if group else [None]
    for ax, metric in zip(axes, metrics, strict=True):
        for g in groups:
            sel = [p for p in points if (group is None or p.get(group) == g)
                   and p.get(f"{metric}_mean") is not None and isinstance(p[param], int | float)]
            sel.sort(key=lambda p: p[param])
            if not sel:
                continue
            x = [p[param] for p in sel]
            y = [p[f"{metric}_mean"] for p in sel]
            lo = [p[f"{metric}_ci_low"] if p.get(f"{metric}_ci_low") is not None else p[f"{metric}_mean"] for p in sel]
            hi = [p[f"{metric}_ci_high"] if p.get(f"{metric}_ci_high") is not None else p[f"{metric}_mean"]
                  for p in sel]
            (line,) = ax.plot(x, y, marker="o", label=None if g is None else f"{group}={g}")
            ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color())
        ax.set_xlabel(param, fontsize=8)
        ax.set_title(metric, fontsize=10)
        ax.grid(alpha=0.3)
        if group:
            ax.legend(fontsize=7)
    fig.suptitle("mean and 95 % CI band", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def sweep_heatmap_figure(points: Sequence[dict[str, Any]], params: Sequence[str], metrics: Sequence[str],
                         path: Path) -> Path:
    """A metric's mean over a grid of two parameters (cells without data are blank)."""
    import numpy as np

    px, py = params
    xs = sorted({p[px] for p in points}, key=_sort_key)
    ys = sorted({p[py] for p in points}, key=_sort_key)
    fig, axes = _panels(len(metrics), 4.6, 3.6)
    for ax, metric in zip(axes, metrics, strict=True):
        grid = np.full((len(ys), len(xs)), np.nan)
        for p in points:
            v = p.get(f"{metric}_mean")
            if v is not None:
                grid[ys.index(p[py]), xs.index(p[px])] = v
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(xs)), [str(v) for v in xs], fontsize=7, rotation=45)
        ax.set_yticks(range(len(ys)), [str(v) for v in ys], fontsize=7)
        ax.set_xlabel(px, fontsize=8)
        ax.set_ylabel(py, fontsize=8)
        ax.set_title(f"{metric} (mean)", fontsize=10)
        fig.colorbar(im, ax=ax)
        for (i, j), v in np.ndenumerate(grid):
            if not math.isnan(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=6, color="white")
    fig.tight_layout()
    return _save(fig, path)


def _sort_key(v: Any) -> tuple:
    return (0, v, "") if isinstance(v, int | float) and not isinstance(v, bool) else (1, 0, str(v))
