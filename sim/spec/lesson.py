"""A lesson of the teaching path: scenarios that differ in one thing, what to look at, and a checkable claim.

Each lesson is a folder ``scenarios/lessons/NN-slug/`` holding a ``lesson.yaml`` beside (or pointing
at) the two or three scenarios it compares. The file says, in words, the concept, what differs,
what to look at in the side-by-side report, a question and its answer; and, as data, the claim
that answer makes, which ``chaossim lesson N`` and the tests evaluate from real runs::

    claim:
      - {metric: latency_p99_s, of: busy, must_be: greater_than, than: calm, times: 3}
      - {metric: availability, of: calm, must_be: at_least, value: 0.99}

A check compares one metric of one scenario with the same metric of another (optionally times a
factor) or with a number. Nothing in the file is evaluated as code: the YAML is read with the safe
loader and validated here; every problem is one line ``lessons/NN-slug.field: reason``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.spec.paths import LESSON_FILE, library_dir
from sim.spec.scenario import Problem
from sim.spec.source import SourceError, read_text

METRICS: dict[str, str] = {
    "availability": "availability over the measured window (share of requests answered well)",
    "availability_before": "availability before the first trigger",
    "availability_during": "availability while a trigger (fault, surge) is active",
    "availability_after": "availability after the last trigger ended",
    "goodput_rps": "requests answered well per second",
    "latency_p50_s": "median end-to-end latency of answered requests",
    "latency_p99_s": "99th percentile end-to-end latency of answered requests",
    "ttft_p99_s": "99th percentile time to first token",
    "attempts_per_request": "attempts per request (1 = no retries)",
    "requests_affected": "share of requests that failed or were slowed by the incident (blast radius)",
    "cascade_components": "components the cascade reached",
    "time_to_detect_s": "from the first trigger to the first alert (never: infinite)",
    "time_to_mitigate_s": "from the first trigger to the first mitigation (never: infinite)",
    "time_to_recover_s": "from the first trigger to recovery (never: infinite)",
    "stuck": "1 if the system stayed degraded after the trigger ended (metastable), else 0",
    "alert_fired": "1 if any alert (or the quality probe) fired, else 0",
    "wrong_answers": "answers served wrong (silent corruption), whether anyone saw them or not",
    "degraded_share": "share of requests answered by a fallback (a smaller model or a cache)",
    "served_ratio": "share of requests answered at all: well, by a fallback, or (silently) wrong",
    "failed_latency_mean_s": "mean time a failed request took to fail (how long callers waited for an error)",
}
"""The metrics a claim may name, with their meaning (sim.experiment.lesson computes them from a run)."""

Comparison = Literal["greater_than", "less_than", "at_least", "at_most", "equal_to"]

LESSON_FOLDER = re.compile(r"(\d{2})-[a-z0-9][a-z0-9\-]*")
"""A lesson's folder: its two-digit number, a dash and a slug (``03-cascading-overload``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class LessonScenario(_Strict):
    """One scenario of the lesson: a short label for the report and the file (relative to the lesson)."""

    label: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9\-]*$",
                       description="Short name in the report and in the claim (lower case, digits, -).")
    file: str = Field(min_length=1, max_length=200, description="Scenario file, relative to the lesson's folder.")


class Check(_Strict):
    """One comparison: ``metric`` of scenario ``of`` must be <comparison> ``times`` x that of ``than``, or ``value``."""

    metric: Literal[tuple(METRICS)] = Field(description="What is compared (see METRICS).")  # type: ignore[valid-type]
    of: str = Field(description="Label of the scenario whose metric is judged.")
    must_be: Comparison = Field(description="greater_than, less_than, at_least, at_most or equal_to.")
    than: str | None = Field(None, description="Label of the scenario compared with.")
    times: float = Field(1.0, gt=0, le=1000, description="Factor applied to the other scenario's metric.")
    value: float | None = Field(None, ge=-1e9, le=1e9, description="A number to compare with, instead of 'than'.")

    @model_validator(mode="after")
    def _one_reference(self) -> Check:
        if (self.than is None) == (self.value is None):
            raise ValueError("give exactly one of 'than' (a scenario label) or 'value' (a number)")
        if self.than is not None and self.than == self.of:
            raise ValueError("'than' must name another scenario than 'of'")
        if self.value is not None and self.times != 1.0:
            raise ValueError("'times' applies to 'than', not to 'value'")
        return self


class Lesson(_Strict):
    """A lesson: its words for the guide and the report, its scenarios, and its claim."""

    title: str = Field(min_length=1, max_length=100)
    concept: str = Field(min_length=1, max_length=3000, description="The idea, for someone new to it.")
    differs_in: str = Field(min_length=1, max_length=500, description="The one thing the scenarios differ in.")
    scenarios: list[LessonScenario] = Field(min_length=2, max_length=3)
    look_at: str = Field(min_length=1, max_length=3000, description="What to look at in the report.")
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=3000, description="The answer, in words.")
    claim: list[Check] = Field(min_length=1, max_length=6, description="The answer as checks a run can fail.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed every scenario runs with (common random numbers).")

    @model_validator(mode="after")
    def _labels(self) -> Lesson:
        labels = [s.label for s in self.scenarios]
        if len(set(labels)) != len(labels):
            raise ValueError(f"scenario labels must be unique (got {', '.join(labels)})")
        return self


class LessonError(Exception):
    """A lesson that cannot be used; ``problems`` are one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True)
class LessonRef:
    """Where a lesson is: its number, its id (``lessons/03-cascading-overload``) and its folder."""

    number: int
    id: str
    folder: Path


@dataclass(frozen=True)
class LoadedLesson:
    """A validated lesson with its scenario files resolved (label -> path)."""

    ref: LessonRef
    lesson: Lesson
    files: dict[str, Path]


def lesson_refs(root: Path | None = None) -> list[LessonRef]:
    """Every lesson of the library (folders ``lessons/NN-slug/`` with a lesson.yaml), by number."""
    root = library_dir() if root is None else root
    lessons = root / "lessons" if root is not None else None
    if lessons is None or not lessons.is_dir():
        return []
    refs = []
    for folder in sorted(lessons.iterdir()):
        found = LESSON_FOLDER.fullmatch(folder.name)
        if found and (folder / LESSON_FILE).is_file():
            refs.append(LessonRef(int(found.group(1)), f"lessons/{folder.name}", folder))
    return sorted(refs, key=lambda r: r.number)


def find_lesson(number: int, root: Path | None = None) -> LessonRef | None:
    """The lesson with this number, or None."""
    return next((r for r in lesson_refs(root) if r.number == number), None)


def _loc(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))


def parse_lesson(data: object, where: str) -> Lesson:
    """Validate a lesson's plain data; problems are ``<where>.<field>: reason``."""
    if not isinstance(data, dict):
        raise LessonError([Problem(where, "a lesson is a mapping (title, concept, scenarios, ..., claim)")])
    try:
        lesson = Lesson.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            reason = {"extra_forbidden": "unknown key", "missing": "required field is missing"}.get(
                e["type"], e["msg"].removeprefix("Value error, "))
            if e["type"] == "string_type" and isinstance(e.get("input"), bool):
                reason += f", not {str(e['input']).lower()} (YAML reads on/off/yes/no as true/false: quote it)"
            loc = _loc(tuple(e["loc"]))
            problems.append(Problem(f"{where}.{loc}" if loc else where, reason))
        raise LessonError(problems) from None
    labels = [s.label for s in lesson.scenarios]
    problems = []
    for i, check in enumerate(lesson.claim):
        for field in ("of", "than"):
            label = getattr(check, field)
            if label is not None and label not in labels:
                problems.append(Problem(f"{where}.claim[{i}].{field}",
                                        f"unknown scenario '{label}' (labels: {', '.join(labels)})"))
    if problems:
        raise LessonError(problems)
    return lesson


def load_lesson(ref: LessonRef) -> LoadedLesson:
    """Read, validate and resolve a lesson: each scenario file must exist inside the library."""
    path = ref.folder / LESSON_FILE
    try:
        text = read_text(path)
        data = yaml.safe_load(text)  # the safe loader: nothing in a lesson is evaluated as code
    except SourceError as err:
        raise LessonError([Problem(ref.id, str(err))]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(err, "problem", "") or "").split())
        raise LessonError([Problem(ref.id, f"YAML error{at}" + (f": {problem}" if problem else ""))]) from None
    lesson = parse_lesson(data, ref.id)
    root = ref.folder.parent.parent.resolve()
    files, problems = {}, []
    for i, scenario in enumerate(lesson.scenarios):
        file = (ref.folder / scenario.file).resolve()
        if not file.is_relative_to(root):
            problems.append(Problem(f"{ref.id}.scenarios[{i}].file", "must be a file of the scenario library"))
        elif not file.is_file():
            problems.append(Problem(f"{ref.id}.scenarios[{i}].file", f"no such file '{scenario.file}'"))
        files[scenario.label] = file
    if problems:
        raise LessonError(problems)
    return LoadedLesson(ref, lesson, files)
