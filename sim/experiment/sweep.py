"""Sweeps: a scenario over a grid (or a random / Latin-hypercube sample) of parameter values.

A parameter is a dotted scenario path (as ``--set`` takes) and its values::

    pools.gpu.replicas=4,6,8              a list (each read as YAML)
    faults.surge.multiplier=1:5:0.5       a range with a step, both ends included: 1, 1.5, ..., 5
    faults.surge.multiplier=1:5           a range without a step: only for --sample random | lhs

Every point is built and validated (exactly as ``--set`` would) before any run starts, so a bad
path, an empty or inverted range or a value the field rejects stops the sweep with one line. All
points run on the same seeds (common random numbers), so neighbouring points differ by the
parameter, not by the luck of the draw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.experiment.executors import Executor, run_all
from sim.experiment.metrics import HEADLINE, Target
from sim.experiment.randomness import randomness_covered
from sim.experiment.replicate import CONFIDENCE, run_rows, seeds_for, summarize, tasks_for
from sim.experiment.store import Store
from sim.spec import Scenario, ScenarioError, with_changes
from sim.spec.overrides import OverrideError, parse_value


class SweepError(ValueError):
    """A sweep that cannot run: one line naming the parameter and the reason."""


@dataclass(frozen=True)
class Param:
    """One swept field: explicit ``values``, or a numeric range ``low``..``high`` (with ``step`` for a grid)."""

    path: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False
    text: str = ""

    def grid(self) -> list[Any]:
        """The values of a grid: the list, or the range's steps (both ends included)."""
        if self.values is not None:
            return list(self.values)
        if self.step is None:
            raise SweepError(f"--param {self.text}: a range needs a step for a grid (low:high:step), "
                             "or use --sample random|lhs")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        out = [self.low + i * self.step for i in range(count)]
        return [int(round(v)) for v in out] if self.integer else [float(f"{v:.12g}") for v in out]

    def at(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1) of this parameter's range or list (for sampling)."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.integer:
            return int(min(self.high, math.floor(self.low + u * (self.high - self.low + 1))))
        return float(f"{self.low + u * (self.high - self.low):.12g}")


def _number(text: str, where: str) -> float:
    value = parse_value(text)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SweepError(f"--param {where}: '{text}' is not a number")
    return value


def parse_param(text: str) -> Param:
    """``'pools.gpu.replicas=4,6,8'`` or ``'path=low:high[:step]'`` -> Param; SweepError naming it."""
    path, sep, spec = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise SweepError(f"--param {text}: expected path=v1,v2,... or path=low:high[:step]")
    spec = spec.strip()
    if not spec:
        raise SweepError(f"--param {text}: no values")
    if ":" in spec and not spec.startswith(("[", "{", '"', "'")):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
            raise SweepError(f"--param {text}: a range is low:high or low:high:step")
        low, high = _number(parts[0], text), _number(parts[1], text)
        step = _number(parts[2], text) if len(parts) == 3 else None
        if low > high:
            raise SweepError(f"--param {text}: inverted range (low {low:g} is above high {high:g})")
        if low == high and step is None:
            raise SweepError(f"--param {text}: empty range (low equals high)")
        if step is not None and step <= 0:
            raise SweepError(f"--param {text}: the step must be positive, got {step:g}")
        integer = all(isinstance(v, int) for v in (low, high) + ((step,) if step is not None else ()))
        return Param(path, None, low, high, step, integer, text)
    try:
        values = tuple(parse_value(v) for v in spec.split(","))
    except OverrideError as err:
        raise SweepError(f"--param {text}: {err.reason}") from None
    if any(v == "" for v in values):
        raise SweepError(f"--param {text}: an empty value in the list")
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"--param {text}: a value is listed twice")
    return Param(path, values, text=text)


def design_points(params: Sequence[Param], sample: str = "grid", samples: int | None = None,
                  sample_seed: int = 0) -> list[dict[str, Any]]:
    """The points to run: the full grid, or ``samples`` points drawn at random or by Latin hypercube."""
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise SweepError(f"--param: a path is swept twice ({', '.join(paths)})")
    if sample == "grid":
        return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(p.grid() for p in params))]
    if sample not in ("random", "lhs"):
        raise SweepError(f"--sample: expected grid, random or lhs, got '{sample}'")
    if not samples or samples < 1:
        raise SweepError(f"--samples: --sample {sample} needs a positive number of samples")
    if sample == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(params), seed=sample_seed).random(samples)
    else:
        u = np.random.default_rng(sample_seed).random((samples, len(params)))
    return [{p.path: p.at(float(u[i, j])) for j, p in enumerate(params)} for i in range(samples)]


def build_points(scenario: Scenario, points: Sequence[dict[str, Any]], params: Sequence[Param]) -> list[Scenario]:
    """A validated scenario per point; the first bad one stops the sweep, naming its parameter and value."""
    texts = {p.path: p.text for p in params}
    built = []
    for point in points:
        try:
            built.append(with_changes(scenario, point))
        except ScenarioError as err:
            problem = err.problems[0]
            culprit = next((path for path in point if str(problem.path).startswith(path)), None)
            if culprit is None and len(point) == 1:
                culprit = next(iter(point))
            where = f"--param {texts[culprit]}: value {point[culprit]!r}" if culprit else \
                f"--param point {point}"
            raise SweepError(f"{where}: {problem}") from None
    return built


@dataclass
class Sweep:
    """The outcome of ``sweep``: the points, per-run rows and per-point statistics."""

    scenario: str
    params: list[str]
    points: list[dict[str, Any]]
    seeds: list[int]
    rows: list[dict[str, Any]]
    point_rows: list[dict[str, Any]]
    headline: tuple[str, ...]
    randomness: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)

    def misses(self, targets: Sequence[Target], confidence: float) -> list[tuple[dict[str, Any], Target, Any]]:
        """The (point, target, bound) where a target is not met with ``confidence``."""
        out = []
        for i, point in enumerate(self.points):
            rows = [r for r in self.rows if r["point"] == _point_id(i) and r["status"] == "ok"]
            for t in targets:
                ok, bound = t.met([r[t.metric] for r in rows if isinstance(r.get(t.metric), int | float)], confidence)
                if not ok:
                    out.append((point, t, bound))
        return out

    def format(self) -> str:
        lines = [f"scenario {self.scenario}: {len(self.points)} points x {len(self.seeds)} seeds "
                 f"({len(self.rows)} runs, {self.failures} failed)", ""]
        widths = [max(10, len(p) + 2) for p in self.params]
        head = "".join(f"{p:>{w}}" for p, w in zip(self.params, widths, strict=True))
        lines.append("  " + head + "".join(f"{m:>26}" for m in self.headline))
        for pr in self.point_rows:
            cells = "".join(f"{_short(pr[p]):>{w}}" for p, w in zip(self.params, widths, strict=True))
            for m in self.headline:
                mean, hw = pr.get(f"{m}_mean"), pr.get(f"{m}_half_width")
                cell = "-" if mean is None else f"{mean:.4g}" + (f" ±{hw:.2g}" if hw is not None else "")
                cells += f"{cell:>26}"
            lines.append("  " + cells)
        lines += ["", "the CI covers:"] + [f"  {line}" for line in self.randomness]
        return "\n".join(lines)


def _short(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _point_id(i: int) -> str:
    return f"p{i:04d}"


def sweep(scenario: Scenario, params: Sequence[Param], n: int = 10, *, sample: str = "grid",
          samples: int | None = None, sample_seed: int = 0, headline: Sequence[str] = HEADLINE,
          first_seed: int | None = None, analysis: bool = False, executor: Executor | None = None,
          store: Store | None = None, confidence: float = CONFIDENCE) -> Sweep:
    """Run ``scenario`` at every point of the design on ``n`` common seeds."""
    if not params:
        raise SweepError("--param: give at least one parameter to sweep")
    if n < 1:
        raise SweepError(f"-n: at least one run per point, got {n}")
    points = design_points(params, sample, samples, sample_seed)
    scenarios = build_points(scenario, points, params)  # every point checked before any run
    seeds = seeds_for(scenario, n, first_seed)
    tasks = [t for i, (point, sc) in enumerate(zip(points, scenarios, strict=True))
             for t in tasks_for(sc, _point_id(i), seeds, analysis, point)]
    rows = run_rows(run_all(tasks, executor, store, desc="sweep"))
    point_rows = []
    for i, point in enumerate(points):
        mine = [r for r in rows if r["point"] == _point_id(i)]
        row: dict[str, Any] = {"point": _point_id(i), **point, "runs": len(mine),
                               "failed": sum(r["status"] != "ok" for r in mine)}
        for m, s in summarize(mine, confidence, exclude=list(point)).items():
            row.update({f"{m}_mean": s.mean, f"{m}_ci_low": s.ci_low, f"{m}_ci_high": s.ci_high,
                        f"{m}_half_width": s.half_width})
        point_rows.append(row)
    return Sweep(scenario.name, [p.path for p in params], points, seeds, rows, point_rows, tuple(headline),
                 randomness_covered(scenario))


def write_sweep(sw: Sweep, store: Store, manifest: dict[str, Any] | None = None) -> list[str]:
    """Tables ``runs`` (one row per run) and ``points`` (one row per point), figures, manifest and text."""
    from sim.experiment.figures import sweep_heatmap_figure, sweep_line_figure

    written = store.write_table("runs", sw.rows) + store.write_table("points", sw.point_rows)
    numeric = [p for p in sw.params if all(isinstance(pt[p], int | float) and not isinstance(pt[p], bool)
                                           for pt in sw.points)]
    distinct = {p: len({pt[p] for pt in sw.points}) for p in sw.params}
    grid = len(sw.points) == math.prod(distinct.values())
    if len(sw.params) == 2 and grid:
        written.append(sweep_heatmap_figure(sw.point_rows, sw.params, sw.headline, store.root / "heatmap.png"))
        if sw.params[0] in numeric:
            written.append(sweep_line_figure(sw.point_rows, sw.params[0], sw.headline, store.root / "lines.png",
                                             group=sw.params[1]))
    else:
        for p in numeric:
            name = "sweep.png" if len(sw.params) == 1 else f"sweep-{p}.png"
            written.append(sweep_line_figure(sw.point_rows, p, sw.headline, store.root / name))
    store.write_json("experiment.json", {**(manifest or {}), "scenario": sw.scenario, "params": sw.params,
                                         "points": sw.points, "seeds": sw.seeds, "failures": sw.failures,
                                         "headline": list(sw.headline), "randomness_covered": sw.randomness})
    store.write_text("summary.txt", sw.format() + "\n")
    return [str(p) for p in written]
