"""Replications: one scenario on many seeds, every metric with its mean, 95 % CI, min and max.

With ``n`` the seeds are fixed. With ``precision`` the procedure is sequential, as in simulation
practice (Law, Simulation Modeling and Analysis, 9.4.1): start with ``n`` seeds, and while some
headline metric's CI half-width is above the target add seeds (as many as the current variance
says are needed, at most doubling at a time) until all are below it or ``max_runs`` is reached.
A precision given as ``'5%'`` is relative to each metric's mean.

Seeds are ``first_seed, first_seed + 1, ...`` (default: the scenario's ``run.seed``): every design
in a comparison and every point of a sweep sees the same seeds, i.e. common random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.analysis.stats import mean_ci
from sim.experiment.executors import Executor, Task, run_all
from sim.experiment.metrics import HEADLINE, values
from sim.experiment.randomness import randomness_covered
from sim.experiment.store import Store
from sim.spec import Scenario

CONFIDENCE = 0.95


@dataclass(frozen=True)
class MetricStats:
    """A metric across replications: mean with its t interval, min and max, over ``n`` runs that had it."""

    metric: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    half_width: float | None
    min: float | None
    max: float | None

    def row(self) -> dict[str, Any]:
        return {"metric": self.metric, "n": self.n, "mean": self.mean, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "half_width": self.half_width, "min": self.min, "max": self.max}


def metric_stats(metric: str, samples: Sequence[float], confidence: float = CONFIDENCE) -> MetricStats:
    """Mean, t interval (when there are two or more samples), min and max of ``samples``."""
    n = len(samples)
    if n == 0:
        return MetricStats(metric, 0, None, None, None, None, None, None)
    if n == 1:
        v = float(samples[0])
        return MetricStats(metric, 1, v, None, None, None, v, v)
    ci = mean_ci(samples, confidence)
    return MetricStats(metric, n, ci.mean, ci.low, ci.high, ci.half_width, float(min(samples)), float(max(samples)))


def run_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-run table: labels, seed, status, error and every metric."""
    rows = []
    for r in records:
        row = {"point": r["point"], **r.get("labels", {}), "seed": r["seed"], "status": r["status"],
               "error": r.get("error") or ""}
        row.update(r.get("metrics") or {})
        rows.append(row)
    return rows


def summarize(rows: Sequence[dict[str, Any]], confidence: float = CONFIDENCE,
              exclude: Sequence[str] = ()) -> dict[str, MetricStats]:
    """Statistics of every metric that appears in the successful rows (``exclude``: label columns)."""
    ok = [r for r in rows if r["status"] == "ok"]
    skip = {"point", "seed", "status", "error", *exclude}
    names: list[str] = []
    for r in ok:
        names.extend(k for k in r if k not in names and k not in skip
                     and isinstance(r[k], int | float | type(None)) and not isinstance(r[k], bool))
    return {m: metric_stats(m, values(ok, m), confidence) for m in names}


@dataclass
class Replication:
    """The outcome of ``replicate``: the per-seed rows, each metric's statistics, and how it stopped."""

    scenario: str
    seeds: list[int]
    rows: list[dict[str, Any]]
    stats: dict[str, MetricStats]
    headline: tuple[str, ...]
    randomness: list[str]
    precision: str | None = None
    precision_met: bool | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)

    def format(self) -> str:
        """The table ``chaossim replicate`` prints."""
        lines = [f"scenario {self.scenario}: {len(self.rows)} runs (seeds {_seed_span(self.seeds)}), "
                 f"{self.failures} failed", "",
                 f"  {'metric':<26}{'n':>4}  {'mean':>12}  {'95 % CI':>27}  {'min':>12}  {'max':>12}"]
        for s in self.stats.values():
            if s.n == 0:
                continue
            ci = f"{_num(s.ci_low)} - {_num(s.ci_high)}" if s.ci_low is not None else "-"
            mark = "*" if s.metric in self.headline else " "
            lines.append(f"{mark} {s.metric:<26}{s.n:>4}  {_num(s.mean):>12}  {ci:>27}  {_num(s.min):>12}  "
                         f"{_num(s.max):>12}")
        lines.append("  (* headline metrics)")
        if self.precision is not None:
            lines += ["", f"precision {self.precision}: " + ("reached" if self.precision_met else
                                                            "NOT reached (max runs)")]
            lines += [f"  after {st['runs']:>4} runs: " + ", ".join(
                f"{m} ±{_num(h)}" for m, h in st["half_widths"].items()) for st in self.steps]
        failed = [r for r in self.rows if r["status"] != "ok"]
        if failed:
            lines += ["", "failed runs:"] + [f"  seed {r['seed']}: {r['error']}" for r in failed]
        lines += ["", "the CI covers:"] + [f"  {line}" for line in self.randomness]
        return "\n".join(lines)


def _seed_span(seeds: Sequence[int]) -> str:
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0 or 1e-4 <= abs(v) < 1e6:
        return f"{v:.6g}"
    return f"{v:.4e}"


def parse_precision(text: str | float) -> tuple[float, bool]:
    """``0.001`` -> (0.001, absolute); ``'5%'`` -> (0.05, relative). Raises ValueError when not positive."""
    raw = str(text).strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1]) / 100 if relative else float(raw)
    except ValueError:
        raise ValueError(f"precision '{text}': expected a number (absolute) or a percentage such as 5%") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"precision '{text}': must be positive")
    return value, relative


def seeds_for(scenario: Scenario, n: int, first_seed: int | None = None) -> list[int]:
    """``n`` consecutive seeds from ``first_seed`` (default: the scenario's run.seed)."""
    start = scenario.run.seed if first_seed is None else first_seed
    return list(range(start, start + n))


def tasks_for(scenario: Scenario, point: str, seeds: Sequence[int], analysis: bool = False,
              labels: dict[str, Any] | None = None) -> list[Task]:
    return [Task(f"{point}-s{seed}", point, scenario, seed, analysis, dict(labels or {})) for seed in seeds]


def replicate(scenario: Scenario, n: int | None = None, *, precision: str | float | None = None,
              max_runs: int = 200, headline: Sequence[str] | None = None, first_seed: int | None = None,
              analysis: bool = False, executor: Executor | None = None, store: Store | None = None,
              confidence: float = CONFIDENCE) -> Replication:
    """Run ``scenario`` on ``n`` seeds, or sequentially until every headline CI is within ``precision``.

    ``headline`` defaults to availability, goodput, p99 latency and p99 TTFT, except that an absolute
    ``precision`` (one number in one unit) applies by default to availability alone.
    """
    if n is None:
        n = 10 if precision is not None else 30
    if n < 2:
        raise ValueError(f"n: at least 2 replications are needed for a confidence interval, got {n}")
    target = parse_precision(precision) if precision is not None else None
    if target is not None and max_runs < n:
        raise ValueError(f"max_runs: {max_runs} is below the starting number of runs {n}")
    if headline is None:
        headline = ("availability",) if target is not None and not target[1] else HEADLINE
    headline = tuple(headline)
    steps: list[dict[str, Any]] = []
    runs = n
    while True:
        seeds = seeds_for(scenario, runs, first_seed)
        records = run_all(tasks_for(scenario, "run", seeds, analysis), executor, store, desc=scenario.name)
        rows = run_rows(records)
        stats = summarize(rows, confidence)
        if target is None:
            return Replication(scenario.name, seeds, rows, stats, headline, randomness_covered(scenario))
        widths = {m: stats[m].half_width for m in headline if m in stats and stats[m].half_width is not None}
        steps.append({"runs": len(rows), "half_widths": widths})
        needed = _runs_needed(stats, headline, target, len(rows))
        if needed <= len(rows) or len(rows) >= max_runs or len(rows) < runs:
            met = needed <= len(rows)
            return Replication(scenario.name, seeds, rows, stats, headline, randomness_covered(scenario),
                               str(precision), met, steps)
        runs = min(max_runs, max(runs + 1, min(needed, 2 * runs)))


def _runs_needed(stats: dict[str, MetricStats], headline: Sequence[str], target: tuple[float, bool], n: int) -> int:
    """Runs for every headline half-width to fall below the target, from the current spread (h ~ 1/sqrt(n))."""
    goal, relative = target
    needed = n
    for m in headline:
        s = stats.get(m)
        if s is None or s.half_width is None:
            continue
        limit = goal * abs(s.mean) if relative else goal
        if s.half_width > 0 and s.half_width >= limit:
            if limit == 0:
                return 10**9
            needed = max(needed, n + 1, math.ceil(n * (s.half_width / limit) ** 2))
    return needed


def write_replication(rep: Replication, store: Store, manifest: dict[str, Any] | None = None) -> list[str]:
    """The experiment directory's tables: ``runs`` (one row per seed), ``summary`` (one row per metric)."""
    written = store.write_table("runs", rep.rows) + store.write_table("summary", [s.row() for s in rep.stats.values()])
    store.write_json("experiment.json", {**(manifest or {}), "scenario": rep.scenario, "seeds": rep.seeds,
                                         "failures": rep.failures, "headline": list(rep.headline),
                                         "precision": rep.precision, "precision_met": rep.precision_met,
                                         "steps": rep.steps, "randomness_covered": rep.randomness})
    store.write_text("summary.txt", rep.format() + "\n")
    return [str(p) for p in written]
