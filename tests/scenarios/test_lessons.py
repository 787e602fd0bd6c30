"""Every lesson's stated answer, checked by running its scenarios: the claim is judged from real runs.

Each lesson (scenarios/lessons/NN-slug/lesson.yaml) states its answer as checks (metric of one
scenario against another's, or against a number). The claims compare designs on one seed with wide
margins (each was checked on several seeds when written): a margin that a seed could flip is a bad claim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.experiment.lesson import _GETTERS, NEEDS_REQUESTS, run_lesson
from sim.spec import load_scenario_data
from sim.spec.lesson import METRICS, lesson_refs, load_lesson
from sim.spec.lesson_guide import guide

ROOT = Path(__file__).resolve().parents[2]

REFS = lesson_refs()

TOPICS = ("queueing", "redundancy", "cascading", "retry", "health-check", "circuit-breaker", "shedding",
          "autoscaling", "dns", "deploy", "observability")
"""Words the lessons' folder names carry, one per concept the teaching path must cover."""


def test_at_least_ten_lessons_numbered_from_one_cover_every_concept():
    assert len(REFS) >= 10 and [r.number for r in REFS] == list(range(1, len(REFS) + 1))
    missing = [t for t in TOPICS if not any(t in r.folder.name for r in REFS)]
    assert not missing, f"no lesson folder names {missing}"


@pytest.mark.parametrize("ref", REFS, ids=[r.id for r in REFS])
def test_the_lesson_answer_holds_when_its_scenarios_run(ref):
    done = run_lesson(load_lesson(ref))
    failed = [c.text for c in done.checks if not c.holds]
    assert not failed, f"{ref.id}: the stated answer does not hold: {failed}"


def _leaves(data: Any, path: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _leaves(value, f"{path}.{key}").items()}
    if isinstance(data, list) and all(isinstance(x, dict) and "name" in x for x in data):
        return {k: v for x in data for k, v in _leaves(x, f"{path}[{x['name']}]").items()}
    if isinstance(data, list):
        return {k: v for i, x in enumerate(data) for k, v in _leaves(x, f"{path}[{i}]").items()}
    return {path: data}


def _setting(path: str, other: dict[str, Any]) -> str:
    """A differing leaf as the setting it belongs to: a section only one side has counts once (a
    quality probe added with its five parameters is one thing)."""
    parts = path.split(".")
    for i in range(2, len(parts)):
        prefix = ".".join(parts[:i])
        if prefix in other or not any(k.startswith(prefix + ".") for k in other):
            return prefix
    return path


@pytest.mark.parametrize("ref", REFS, ids=[r.id for r in REFS])
def test_each_scenario_of_a_lesson_differs_from_the_first_in_one_thing(ref):
    """At most three settings differ from the lesson's first scenario (e.g. the rate of three clients, or
    a retry policy's backoff base, cap and jitter), names and words aside."""
    loaded = load_lesson(ref)
    control, *variants = [_leaves(load_scenario_data(loaded.files[s.label])) for s in loaded.lesson.scenarios]
    for variant in variants:
        differ = {_setting(k, variant if k in control else control)
                  for k in control.keys() | variant.keys() if control.get(k) != variant.get(k)}
        differ -= {".name", ".description", ".base"}
        assert 1 <= len(differ) <= 3, f"{ref.id}: a variant differs from the control in {sorted(differ)}"


def test_the_committed_guide_is_what_the_lessons_generate():
    committed = (ROOT / "docs" / "lessons.md").read_text(encoding="utf-8")
    assert committed == guide(), "docs/lessons.md is stale: run python -m sim.spec.lesson_guide docs/lessons.md"


def test_every_metric_a_claim_may_name_is_computed():
    assert set(_GETTERS) | NEEDS_REQUESTS == set(METRICS)
