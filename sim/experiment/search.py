"""SLO capacity search: the smallest (or largest) parameter value that meets a target with confidence.

``search(scenario, 'pools.gpu.replicas', 2, 40, Target.parse('availability>=0.999'), confidence=0.9)``
assumes the target is monotone in the parameter (more replicas never hurt; a larger surge never
helps) and bisects: each probed value runs ``n`` replications on common seeds, and the value
*meets* the target when the one-sided t bound of the mean does (for ``>=`` the lower bound
mean - t_{c, n-1} s / sqrt(n)). So "meets" is a claim at the given confidence, and a value whose
runs straddle the target counts as not meeting it: the answer is conservative. Integer parameters
are bisected to the exact value; real ones to ``tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sim.experiment.executors import Executor, run_all
from sim.experiment.metrics import Target, values
from sim.experiment.randomness import randomness_covered
from sim.experiment.replicate import run_rows, seeds_for, tasks_for
from sim.experiment.store import Store
from sim.experiment.sweep import SweepError, build_points, parse_param
from sim.spec import Scenario


@dataclass(frozen=True)
class Probe:
    """The evidence at one probed value."""

    value: float
    n: int
    failed: int
    mean: float | None
    bound: float | None
    met: bool

    def row(self, metric: str) -> dict[str, Any]:
        return {"value": self.value, "runs": self.n, "failed": self.failed, f"{metric}_mean": self.mean,
                "bound": self.bound, "met": self.met}


@dataclass
class Search:
    """The outcome of ``search``: the answer (None if no value in the range meets the target) and every probe."""

    scenario: str
    param: str
    target: Target
    confidence: float
    largest: bool
    low: float
    high: float
    answer: float | None
    probes: list[Probe]
    seeds: list[int]
    randomness: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def format(self) -> str:
        side = "largest" if self.largest else "smallest"
        lines = [f"search {side} {self.param} in [{self.low:g}, {self.high:g}] with {self.target} at "
                 f"{self.confidence:g} confidence ({len(self.seeds)} seeds per value, one-sided t bound)", ""]
        for i, p in enumerate(self.probes, 1):
            mean = "-" if p.mean is None else f"{p.mean:.6g}"
            bound = "-" if p.bound is None else f"{p.bound:.6g}"
            failed = f", {p.failed} failed" if p.failed else ""
            lines.append(f"  step {i:>2}: {self.param}={p.value:g}  mean {mean}  bound {bound}  -> "
                         f"{'meets' if p.met else 'does not meet'}{failed}")
        lines.append("")
        if self.answer is None:
            lines.append(f"no value of {self.param} in [{self.low:g}, {self.high:g}] meets {self.target} "
                         f"with {self.confidence:g} confidence")
        else:
            lines.append(f"answer: {self.param} = {self.answer:g} is the {side} value meeting {self.target} "
                         f"with {self.confidence:g} confidence")
        lines += ["", "the CI covers:"] + [f"  {line}" for line in self.randomness]
        return "\n".join(lines)


def search(scenario: Scenario, param: str, target: Target, *, n: int = 10, confidence: float = 0.9,
           largest: bool = False, tolerance: float | None = None, first_seed: int | None = None,
           analysis: bool = False, executor: Executor | None = None, store: Store | None = None) -> Search:
    """Bisect ``param`` (``'path=low:high'``) for the smallest (or ``largest``) value meeting ``target``."""
    p = parse_param(param)
    if p.values is not None or p.low is None:
        raise SweepError(f"--param {param}: search needs a range low:high")
    if n < 2:
        raise SweepError(f"-n: a confidence bound needs at least 2 runs per value, got {n}")
    if not 0 < confidence < 1:
        raise SweepError(f"--confidence: must be between 0 and 1, got {confidence:g}")
    integer = p.integer
    if not integer and (tolerance is None or tolerance <= 0):
        tolerance = (p.high - p.low) / 64
    build_points(scenario, [{p.path: p.low}, {p.path: p.high}], [p])  # both ends valid before any run
    seeds = seeds_for(scenario, n, first_seed)
    probes: dict[float, Probe] = {}
    rows: list[dict[str, Any]] = []
    order: list[Probe] = []

    def probe(value: float) -> bool:
        value = int(value) if integer else float(f"{value:.12g}")
        if value not in probes:
            (sc,) = build_points(scenario, [{p.path: value}], [p])
            point = f"v{value:g}"
            runs = run_rows(run_all(tasks_for(sc, point, seeds, analysis, {p.path: value}), executor, store,
                                    desc=f"{p.path}={value:g}"))
            rows.extend(runs)
            ok = [r for r in runs if r["status"] == "ok"]
            samples = values(ok, target.metric)
            met, bound = target.met(samples, confidence)
            met = met and len(ok) == len(runs)  # a value whose runs fail is not shown to meet anything
            probes[value] = Probe(value, len(runs), len(runs) - len(ok),
                                  sum(samples) / len(samples) if samples else None, bound, met)
        order.append(probes[value])
        return probes[value].met

    good, bad = (p.low, p.high) if largest else (p.high, p.low)
    answer: float | None
    if not probe(good):
        answer = None
    elif probe(bad):
        answer = bad
    else:
        while _apart(good, bad, integer, tolerance):
            mid = (good + bad) // 2 if integer else (good + bad) / 2
            if probe(mid):
                good = mid
            else:
                bad = mid
        answer = good
    seen: set[float] = set()
    evidence = [pr for pr in order if not (pr.value in seen or seen.add(pr.value))]
    return Search(scenario.name, p.path, target, confidence, largest, p.low, p.high, answer, evidence, seeds,
                  randomness_covered(scenario), rows)


def _apart(a: float, b: float, integer: bool, tolerance: float | None) -> bool:
    return abs(a - b) > 1 if integer else abs(a - b) > (tolerance or 0) and not math.isclose(a, b)


def write_search(sr: Search, store: Store, manifest: dict[str, Any] | None = None) -> list[str]:
    """Tables ``runs`` and ``probes``, the manifest (answer, evidence) and the text."""
    written = store.write_table("runs", sr.rows) + store.write_table("probes", [p.row(sr.target.metric)
                                                                               for p in sr.probes])
    store.write_json("experiment.json", {**(manifest or {}), "scenario": sr.scenario, "param": sr.param,
                                         "target": str(sr.target), "confidence": sr.confidence,
                                         "largest": sr.largest, "range": [sr.low, sr.high], "answer": sr.answer,
                                         "seeds": sr.seeds, "probes": [p.row(sr.target.metric) for p in sr.probes],
                                         "randomness_covered": sr.randomness})
    store.write_text("summary.txt", sr.format() + "\n")
    return [str(p) for p in written]
