"""Run a lesson: its scenarios on one seed, their side-by-side report, and its claim judged from the runs.

``run_lesson`` simulates each scenario of a lesson (sim.spec.lesson) with the lesson's seed, so all
of them see the same arrivals (common random numbers) and their difference is the one thing they
differ in. It computes the metrics the claim names from each run's analysis and judges every
check; with an output folder it also writes each run's directory and the comparison page
(sim.report.compare), the first scenario as the control.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis import analyze
from sim.engine.request import SUCCESS_OUTCOMES
from sim.experiment.run import run
from sim.observe.result import RunResult
from sim.spec.lesson import METRICS, Check, LoadedLesson
from sim.spec.loader import load_scenario

NEVER_IS_INFINITE = frozenset({"time_to_detect_s", "time_to_mitigate_s", "time_to_recover_s"})
"""Times that are None when the event never happened: never counts as infinitely late."""


def _phase(a: dict[str, Any], name: str) -> float | None:
    return ((a.get("steady_state") or {}).get("phases") or {}).get(name, {}).get("availability")


def _share(summary: dict[str, Any], outcome: str) -> float | None:
    measured = summary["measured"]
    return measured["outcomes"].get(outcome, 0) / measured["ended"] if measured["ended"] else None


def _failed_latency_mean(result: RunResult) -> float | None:
    """Mean time a failed request took to fail, over the measured window (needs the request records)."""
    req = result.requests
    if req is None:
        return None
    failed = (req["arrival_s"] >= result.summary["warmup_s"]) & ~np.isin(req["outcome"], SUCCESS_OUTCOMES)
    return float(req["latency_s"][failed].mean()) if failed.any() else None


def _alert_fired(a: dict[str, Any]) -> float:
    monitors = (a.get("observability") or {}).get("monitors") or {}
    return float(monitors.get("first_alert_s") is not None or monitors.get("probe_first_alert_s") is not None)


NEEDS_REQUESTS = frozenset({"failed_latency_mean_s"})
"""Metrics computed from one record per request: their runs keep the records (small lesson runs only)."""

_GETTERS: dict[str, Any] = {
    "availability": lambda a, s: s["measured"]["availability"],
    "availability_before": lambda a, s: _phase(a, "before"),
    "availability_during": lambda a, s: _phase(a, "during"),
    "availability_after": lambda a, s: _phase(a, "after"),
    "goodput_rps": lambda a, s: s["measured"]["goodput_rps"],
    "latency_p50_s": lambda a, s: (s["measured"]["latency_s"] or {}).get("p50"),
    "latency_p99_s": lambda a, s: (s["measured"]["latency_s"] or {}).get("p99"),
    "ttft_p99_s": lambda a, s: (s["measured"]["ttft_s"] or {}).get("p99"),
    "attempts_per_request": lambda a, s: s["attempts_per_request"],
    "requests_affected": lambda a, s: a["cascade"]["blast_radius"]["requests_share"],
    "cascade_components": lambda a, s: a["cascade"]["blast_radius"]["components"],
    "time_to_detect_s": lambda a, s: a["incident"]["time_to_detect_s"],
    "time_to_mitigate_s": lambda a, s: a["incident"]["time_to_mitigate_s"],
    "time_to_recover_s": lambda a, s: a["incident"]["time_to_recover_s"],
    "stuck": lambda a, s: float(a["metastability"]["verdict"] == "stuck"),
    "alert_fired": lambda a, s: _alert_fired(a),
    "wrong_answers": lambda a, s: (a.get("observability") or {}).get("truth", {}).get("wrong_answers"),
    "degraded_share": lambda a, s: _share(s, "degraded"),
    "served_ratio": lambda a, s: s["measured"]["served_ratio"],
}


def metric_value(name: str, analysis: dict[str, Any], result: RunResult) -> float | None:
    """One claim metric of a run (None: not measured, e.g. no latency because nothing was answered)."""
    if name in NEEDS_REQUESTS:
        value = _failed_latency_mean(result)
    else:
        value = _GETTERS[name](analysis, result.summary)
    if value is None and name in NEVER_IS_INFINITE:
        return math.inf
    return None if value is None else float(value)


@dataclass(frozen=True)
class CheckResult:
    """One check of the claim, judged: whether it holds and the sentence that says so with the figures."""

    check: Check
    holds: bool
    text: str


def _fmt(value: float | None) -> str:
    if value is None:
        return "not measured"
    if math.isinf(value):
        return "never"
    return f"{value:.4g}"


_WORDS = {"greater_than": ">", "less_than": "<", "at_least": ">=", "at_most": "<=", "equal_to": "="}


def judge(check: Check, values: dict[str, dict[str, float | None]]) -> CheckResult:
    """Judge one check against the runs' metric values (label -> metric -> value)."""
    left = values[check.of][check.metric]
    if check.than is not None:
        other = values[check.than][check.metric]
        right = None if other is None else other * check.times
        times = "" if check.times == 1 else f"{check.times:g} x "
        right_text = f"{times}{check.than} ({_fmt(other)})"
    else:
        right, right_text = check.value, _fmt(check.value)
    sentence = f"{check.metric} of {check.of} ({_fmt(left)}) {_WORDS[check.must_be]} {right_text}"
    if left is None or right is None:
        return CheckResult(check, False, f"{sentence}: cannot be judged (not measured)")
    holds = {"greater_than": left > right, "less_than": left < right, "at_least": left >= right,
             "at_most": left <= right, "equal_to": left == right}[check.must_be]
    return CheckResult(check, holds, sentence)


@dataclass
class LessonRun:
    """A lesson's runs, their metric values, the judged claim and (when written) the report's path."""

    loaded: LoadedLesson
    seed: int
    results: dict[str, RunResult]
    analyses: dict[str, dict[str, Any]]
    values: dict[str, dict[str, float | None]]
    checks: list[CheckResult]
    report: Path | None = None
    run_dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """Whether every check of the claim holds."""
        return all(c.holds for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """What claim.json records: the lesson, the seed, each check's verdict and every metric value."""
        def clean(v: float | None) -> float | str | None:
            return "never" if v is not None and math.isinf(v) else v

        return {"lesson": self.loaded.ref.id, "title": self.loaded.lesson.title, "seed": self.seed,
                "holds": self.holds,
                "checks": [{"text": c.text, "holds": c.holds} for c in self.checks],
                "values": {label: {k: clean(v) for k, v in vals.items()} for label, vals in self.values.items()}}


def run_lesson(loaded: LoadedLesson, seed: int | None = None, out: Path | None = None) -> LessonRun:
    """Run every scenario of the lesson with one seed and judge its claim; with ``out``, write the runs
    (``out/<label>/``), claim.json and the side-by-side page ``out/comparison.html``.

    Raises sim.spec.ScenarioError when a scenario of the lesson does not validate.
    """
    lesson = loaded.lesson
    seed = lesson.seed if seed is None else seed
    records = any(c.metric in NEEDS_REQUESTS for c in lesson.claim)
    results, analyses, values = {}, {}, {}
    for item in lesson.scenarios:
        result = run(load_scenario(loaded.files[item.label]), seed, record_requests=records)
        analysis = analyze(result)
        results[item.label], analyses[item.label] = result, analysis
        values[item.label] = {name: metric_value(name, analysis, result) for name in METRICS}
    done = LessonRun(loaded, seed, results, analyses, values, [judge(c, values) for c in lesson.claim])
    if out is not None:
        _write(done, out)
    return done


def _write(done: LessonRun, out: Path) -> None:
    from sim.report.compare import write_comparison_report
    from sim.report.files import atomic_write_text, write_run
    from sim.report.manifest import write_manifest

    for label, result in done.results.items():
        write_run(result, out / label, figures=False)
        done.run_dirs[label] = out / label
    labels = list(done.results)
    done.report, _ = write_comparison_report([done.results[label] for label in labels], out / "comparison.html",
                                             labels=labels)
    atomic_write_text(out / "claim.json", json.dumps(done.to_json(), indent=2, sort_keys=True, allow_nan=False))
    write_manifest(out, ["comparison.html", "claim.json"])
