"""Study 2's answer: per policy and load, the shortest trigger after which the pool stays stuck.

Reads results/<policy>/points.parquet (written by run.sh), writes thresholds.md and metastability.png.
"Stuck" is the analysis' metastability verdict: not back to steady state within the SLO's
recovery window (120 s) after the trigger ended. A point counts as stuck when most seeds are.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

HERE = Path(__file__).resolve().parent
POLICIES = ["no-retries", "retry-3", "retry-3-jitter", "retry-budget", "retry-token-bucket", "lifo-drop"]
DUR = "faults.capacity-loss.duration_s"
LOAD = "workload.clients.users.arrival.rate_rps"
CAPACITY_RPS = 40.0  # four replicas of 10 requests/s


def main() -> None:
    tables = {p: pq.read_table(HERE / f"results/{p}/points.parquet").to_pylist() for p in POLICIES}
    loads = sorted({r[LOAD] for r in tables[POLICIES[0]]})
    durations = sorted({r[DUR] for r in tables[POLICIES[0]]})
    lines = ["| policy | " + " | ".join(f"load {load:g}/s ({100 * load / CAPACITY_RPS:.0f} %)" for load in loads)
             + " |", "|---|" + "---|" * len(loads)]
    fig, grid_axes = plt.subplots(2, 3, figsize=(10, 6), sharey=True)
    axes = list(grid_axes.flat)
    for ax, policy in zip(axes, POLICIES, strict=True):
        rows = {(r[LOAD], r[DUR]): r for r in tables[policy]}
        cells = []
        for load in loads:
            stuck = [d for d in durations if rows[(load, d)]["stuck_mean"] > 0.5]
            cells.append(f"stuck from {stuck[0]:g} s" if stuck else f"recovers up to {durations[-1]:g} s")
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
        grid = np.array([[rows[(load, d)]["stuck_mean"] for d in durations] for load in loads])
        ax.imshow(grid, origin="lower", cmap="Reds", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(durations)), [f"{d:g}" for d in durations])
        ax.set_yticks(range(len(loads)), [f"{load:g}" for load in loads])
        ax.set_title(policy, fontsize=9)
        ax.set_xlabel("trigger (s)", fontsize=8)
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if v > 0.5 else "black")
    for ax in (axes[0], axes[3]):
        ax.set_ylabel("load (req/s, capacity 40)", fontsize=8)
    fig.suptitle("share of seeds stuck (not recovered 120 s after the trigger ended)", fontsize=10)
    fig.tight_layout()
    fig.savefig(HERE / "metastability.png", dpi=110)
    avail = ["", "Mean availability over the measured window (95 % CI half-width), trigger 20 s:", "",
             "| policy | " + " | ".join(f"{load:g}/s" for load in loads) + " |", "|---|" + "---|" * len(loads)]
    for policy in POLICIES:
        rows = {(r[LOAD], r[DUR]): r for r in tables[policy]}
        cells = []
        for load in loads:
            row = rows[(load, 20)]
            cells.append(f"{100 * row['availability_mean']:.1f} % ± {100 * row['availability_half_width']:.1f}")
        avail.append(f"| {policy} | " + " | ".join(cells) + " |")
    text = "\n".join(lines + avail) + "\n"
    (HERE / "thresholds.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
