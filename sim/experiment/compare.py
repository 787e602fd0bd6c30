"""Comparing designs on common random numbers: paired differences, t intervals, Holm correction.

Every design runs on the same seeds, so on seed k all designs see the same arrivals and the same
fault draws; the difference of a metric between two designs on seed k is then the design's effect
plus much less noise than two independent samples would have (Law, 11.2; the CRN variance reduction).
For each pair of designs (j against i, i < j) and each headline metric, the mean paired difference
gets a t interval and a paired t test; the p-values of all these tests are adjusted together with
Holm's step-down procedure, so "significant" means significant at 5 % family-wise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.analysis.stats import holm, paired_ci
from sim.experiment.executors import Executor, run_all
from sim.experiment.metrics import HEADLINE, higher_is_better
from sim.experiment.randomness import randomness_covered
from sim.experiment.replicate import CONFIDENCE, MetricStats, run_rows, seeds_for, summarize, tasks_for
from sim.experiment.store import Store
from sim.spec import Scenario

ALPHA = 0.05


@dataclass(frozen=True)
class Difference:
    """Design ``b`` minus design ``a`` on one metric, over the seeds both ran successfully."""

    metric: str
    a: str
    b: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_holm: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA

    def better(self) -> str | None:
        """The design this difference favours, or None when there is no difference."""
        if self.mean is None or self.mean == 0:
            return None
        return self.b if (self.mean > 0) == higher_is_better(self.metric) else self.a

    def sentence(self) -> str:
        """One plain sentence: who is better, by how much, with its CI and the Holm verdict."""
        if self.mean is None:
            return f"{self.metric}: too few paired runs to compare {self.b} with {self.a}"
        if self.ci_low is None:
            return f"{self.metric}: {self.b} and {self.a} ran on one common seed only; no interval"
        if self.mean == 0 and self.ci_low == self.ci_high:
            return f"{self.b} and {self.a} have the same {self.metric} on every seed (no difference)"
        word = "higher" if self.mean > 0 else "lower"
        lo, hi = (self.ci_low, self.ci_high) if self.mean > 0 else (-self.ci_high, -self.ci_low)
        verdict = ("significant after Holm correction" if self.significant else
                   "not significant after Holm correction")
        better = self.better()
        judgement = f"; {better} is better" if self.significant and better else ""
        return (f"{self.b} has {word} {self.metric} than {self.a} by {fmt_amount(self.metric, abs(self.mean))} "
                f"(95 % CI {fmt_amount(self.metric, lo)} to {fmt_amount(self.metric, hi)}), {verdict}{judgement}")

    def row(self) -> dict[str, Any]:
        return {"metric": self.metric, "a": self.a, "b": self.b, "n": self.n, "diff_mean": self.mean,
                "diff_ci_low": self.ci_low, "diff_ci_high": self.ci_high, "p_value": self.p_value,
                "p_holm": self.p_holm, "significant": self.significant, "better": self.better() or ""}


def fmt_amount(metric: str, value: float) -> str:
    """A difference in the metric's unit: shares in percentage points, seconds in ms or s."""
    if metric in ("availability", "served_ratio", "stuck") or metric.endswith("_share"):
        return f"{value * 100:.3g} pp"
    if metric.endswith("_s"):
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if metric.endswith("_rps"):
        return f"{value:.3g} req/s"
    return f"{value:.3g}"


@dataclass
class Comparison:
    """The outcome of ``compare``: per-run rows, each design's statistics, and the paired differences."""

    designs: list[str]
    seeds: list[int]
    rows: list[dict[str, Any]]
    stats: dict[str, dict[str, MetricStats]]
    differences: list[Difference]
    headline: tuple[str, ...]
    randomness: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)

    def regressions(self) -> list[Difference]:
        """Significant differences where a later design is worse than the first (the baseline)."""
        base = self.designs[0]
        return [d for d in self.differences if d.a == base and d.significant and d.better() == base]

    def format(self) -> str:
        """The table and sentences ``chaossim compare`` prints."""
        lines = [f"{len(self.designs)} designs on the same {len(self.seeds)} seeds (common random numbers), "
                 f"{self.failures} failed runs", ""]
        width = max(12, *(len(d) for d in self.designs))
        lines.append(f"  {'metric':<16}" + "".join(f"{d:>{width + 14}}" for d in self.designs))
        for m in self.headline:
            cells = []
            for d in self.designs:
                s = self.stats[d].get(m)
                if s is None or s.mean is None:
                    cells.append(f"{'-':>{width + 14}}")
                else:
                    hw = f" ±{s.half_width:.3g}" if s.half_width is not None else ""
                    cells.append(f"{f'{s.mean:.4g}{hw}':>{width + 14}}")
            lines.append(f"  {m:<16}" + "".join(cells))
        lines += ["", "paired differences (95 % CI, Holm-corrected over "
                  f"{sum(d.p_value is not None for d in self.differences)} tests):"]
        lines += [f"  {d.sentence()}" for d in self.differences]
        lines += ["", "the CI covers:"] + [f"  {line}" for line in self.randomness]
        return "\n".join(lines)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Design labels from their names, made unique with -2, -3... (two files may share a scenario name)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def compare(designs: Sequence[tuple[str, Scenario]], n: int = 30, *, headline: Sequence[str] = HEADLINE,
            first_seed: int | None = None, analysis: bool = False, executor: Executor | None = None,
            store: Store | None = None, confidence: float = CONFIDENCE) -> Comparison:
    """Run every design on the same ``n`` seeds and compare each pair on the headline metrics."""
    if len(designs) < 2:
        raise ValueError("designs: a comparison needs at least two designs")
    if n < 2:
        raise ValueError(f"n: at least 2 replications are needed for a confidence interval, got {n}")
    labels = [label for label, _ in designs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"designs: labels must be unique, got {labels}")
    seeds = seeds_for(designs[0][1], n, first_seed)
    tasks = [t for label, scenario in designs for t in tasks_for(scenario, label, seeds, analysis,
                                                                  {"design": label})]
    records = run_all(tasks, executor, store, desc="compare")
    rows = run_rows(records)
    by_design = {label: [r for r in rows if r["point"] == label] for label in labels}
    stats = {label: summarize(by_design[label], confidence) for label in labels}
    headline = tuple(headline)
    diffs = [_difference(m, a, b, by_design[a], by_design[b], confidence)
             for i, a in enumerate(labels) for b in labels[i + 1:] for m in headline]
    tested = [i for i, d in enumerate(diffs) if d.p_value is not None]
    adjusted = holm([diffs[i].p_value for i in tested]) if tested else []
    for i, p in zip(tested, adjusted, strict=True):
        d = diffs[i]
        diffs[i] = Difference(d.metric, d.a, d.b, d.n, d.mean, d.ci_low, d.ci_high, d.p_value, p)
    randomness = []
    for _, scenario in designs:
        randomness += [line for line in randomness_covered(scenario) if line not in randomness]
    return Comparison(labels, seeds, rows, stats, diffs, headline, randomness)


def _difference(metric: str, a: str, b: str, rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]],
                confidence: float) -> Difference:
    def ok(rows):
        return {r["seed"]: r[metric] for r in rows if r["status"] == "ok" and isinstance(r.get(metric), int | float)}

    va, vb = ok(rows_a), ok(rows_b)
    common = sorted(set(va) & set(vb))
    if not common:
        return Difference(metric, a, b, 0, None, None, None, None)
    if len(common) == 1:
        d = vb[common[0]] - va[common[0]]
        return Difference(metric, a, b, 1, d, None, None, None)
    cmp = paired_ci([va[s] for s in common], [vb[s] for s in common], confidence)
    return Difference(metric, a, b, len(common), cmp.diff.mean, cmp.diff.low, cmp.diff.high, cmp.p_value)


def write_comparison(cmp: Comparison, store: Store, manifest: dict[str, Any] | None = None) -> list[str]:
    """Tables ``runs``, ``summary`` (design x metric) and ``differences``, the figure, the manifest, the text."""
    from sim.experiment.figures import comparison_figure

    summary = [{"design": d, **s.row()} for d in cmp.designs for s in cmp.stats[d].values()]
    written = (store.write_table("runs", cmp.rows) + store.write_table("summary", summary)
               + store.write_table("differences", [d.row() for d in cmp.differences]))
    written.append(comparison_figure(cmp, store.root / "compare.png"))
    store.write_json("experiment.json", {**(manifest or {}), "designs": cmp.designs, "seeds": cmp.seeds,
                                         "failures": cmp.failures, "headline": list(cmp.headline),
                                         "sentences": [d.sentence() for d in cmp.differences],
                                         "randomness_covered": cmp.randomness})
    store.write_text("summary.txt", cmp.format() + "\n")
    return [str(p) for p in written]
