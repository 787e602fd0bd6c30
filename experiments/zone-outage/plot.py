"""Study 3's figure: availability and recovery time against replicas per zone, with and without failover."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

HERE = Path(__file__).resolve().parent
REPLICAS = "pools.api.replicas"
ZONES = 3


def main() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for design in ("failover", "no-failover"):
        points = sorted(pq.read_table(HERE / f"results/{design}/points.parquet").to_pylist(),
                        key=lambda p: p[REPLICAS])
        x = [p[REPLICAS] / ZONES for p in points]
        for ax, metric, scale in ((axes[0], "availability", 100), (axes[1], "recovery_s", 1)):
            sel = [(xi, p) for xi, p in zip(x, points, strict=True) if p.get(f"{metric}_mean") is not None]
            if not sel:
                continue
            xs = [xi for xi, _ in sel]
            y = [p[f"{metric}_mean"] * scale for _, p in sel]
            lo = [(p[f"{metric}_ci_low"] if p[f"{metric}_ci_low"] is not None else p[f"{metric}_mean"]) * scale
                  for _, p in sel]
            hi = [(p[f"{metric}_ci_high"] if p[f"{metric}_ci_high"] is not None else p[f"{metric}_mean"]) * scale
                  for _, p in sel]
            (line,) = ax.plot(xs, y, marker="o", label=design)
            ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color())
    axes[0].set_ylabel("availability (%), mean and 95 % CI")
    axes[0].axhline(99, color="grey", lw=0.8, ls="--")
    axes[1].set_ylabel("recovery after the zone returns (s)")
    for ax in axes:
        ax.set_xlabel("replicas per zone (10 req/s each; load 48 req/s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Zone-a lost for 90 s (5 seeds per point)", fontsize=10)
    fig.tight_layout()
    fig.savefig(HERE / "zone-outage.png", dpi=110)


if __name__ == "__main__":
    main()
