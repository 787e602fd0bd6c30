"""Study 1's figure: availability and p99 TTFT against the surge multiplier, one line per design."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

HERE = Path(__file__).resolve().parent
SURGE = "faults.surge.multiplier"


def lines() -> dict[str, list[dict]]:
    n_plus = pq.read_table(HERE / "results/n-plus/points.parquet").to_pylist()
    out = {f"N+{r - 4} ({r} replicas)": [p for p in n_plus if p["pools.gpu.replicas"] == r] for r in (4, 5, 6)}
    out["two zones (2 x 4 replicas)"] = pq.read_table(HERE / "results/two-zones/points.parquet").to_pylist()
    return out


def main() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, points in lines().items():
        points.sort(key=lambda p: p[SURGE])
        x = [p[SURGE] for p in points]
        for ax, metric, scale in ((axes[0], "availability", 100), (axes[1], "ttft_p99_s", 1)):
            y = [p[f"{metric}_mean"] * scale for p in points]
            lo = [p[f"{metric}_ci_low"] * scale for p in points]
            hi = [p[f"{metric}_ci_high"] * scale for p in points]
            (line,) = ax.plot(x, y, marker="o", label=label)
            ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color())
    axes[0].set_ylabel("availability (%), mean and 95 % CI")
    axes[1].set_ylabel("p99 TTFT (s), mean and 95 % CI")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("surge multiplier (x base load of 9 req/s)")
        ax.grid(alpha=0.3)
    axes[0].axhline(99, color="grey", lw=0.8, ls="--")
    axes[0].legend(fontsize=8)
    fig.suptitle("Redundancy against a surge with one replica crash at its peak (8 seeds per point)", fontsize=10)
    fig.tight_layout()
    fig.savefig(HERE / "redundancy-surge.png", dpi=110)


if __name__ == "__main__":
    main()
