"""The teaching path's guide, docs/lessons.md, generated from the lessons' own files.

Each lesson's words (concept, what differs, what to look at, question, answer) live once, in its
lesson.yaml, which ``chaossim lesson N`` also prints; the guide is those words in order, with the
command to run and the checks a test makes. A test fails when the committed guide differs from
what this generates. Regenerate with ``python -m sim.spec.lesson_guide docs/lessons.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.spec.lesson import METRICS, Check, LoadedLesson, lesson_refs, load_lesson
from sim.spec.paths import library_dir

PREFACE = """\
# Lessons: a teaching path through resilience engineering

Each lesson runs two or three scenarios that differ in **one thing** (a setting, a mechanism, the
load) and puts them side by side, so that what you see is the effect of that one thing. No
previous knowledge of resilience engineering is needed; start at lesson 1 and go in order, each
lesson uses words the earlier ones explained.

**How to follow a lesson.** Install chaossim (`pip install -e .` in a checkout, or the wheel), then:

    chaossim lesson          # the list
    chaossim lesson 1        # runs lesson 1's scenarios, judges its claim, writes the report

The command prints each run's verdict, the lesson's question, whether its claim held, its answer
and where it wrote the report (`runs/lesson-01-utilisation-and-queueing-<time>/comparison.html`
for lesson 1; `--out DIR` chooses the folder), one page you open in a browser. Read the question
first and guess the answer before you look at the page.

**How to read the report.** At the top, one card per scenario: *steady state held* (green) or
*deviated* (red), judged against the scenario's SLO (service level objective, e.g. "99 % of
requests succeed"), and whether the system *recovered* after the trouble ended or stayed *stuck*.
Then the key figures, each scenario's value and its difference from the first scenario (the
control): green is better, red worse. Then the time series, overlaid (the control solid, the others
dashed): traffic, success ratio, latency, failures by reason. The red band is the trigger (the fault
or surge); hatched orange is an alert firing (both for the first scenario). You can zoom, hover
and hide lines. Each scenario's own run folder is beside the page; `chaossim report FOLDER` writes
its full report (cascade graph, component states, incident timeline).

**Words used throughout.** *Availability*: the share of requests answered successfully.
*Latency*: how long a request took; *p99* is the 99th percentile, the time within which 99 % of
requests finish (the slow tail users notice). *Utilisation*: the share of time a server is busy.
*Replica*: one copy of a server; a *pool* is a group of them behind a *load balancer*. A *trigger*
is what starts the trouble (a crash, a bad deploy, a surge); everything after it comes from
mechanisms in the model, never from a script.

**Every lesson's answer is checked.** The claim under each lesson is evaluated from real runs
(`chaossim lesson N` prints each check and exits 1 if one fails) and by the test suite
(tests/scenarios/test_lessons.py), so the guide cannot drift from what the simulator shows. Run a
lesson with another seed (`--seed 7`) to see which figures are noise and which are the lesson.

The lessons' files are in [scenarios/lessons/](../scenarios/lessons/); every scenario also runs on
its own, by its `builtin:` name (`chaossim list lessons`, `chaossim list teaching`).
"""

_WORDS = {"greater_than": ">", "less_than": "<", "at_least": "≥", "at_most": "≤", "equal_to": "="}


def _para(text: str) -> str:
    return " ".join(text.split())


def check_text(check: Check) -> str:
    """A check in words: ``latency_p99_s of saturated > 1.5 × that of busy``."""
    right = (f"{check.times:g} × that of {check.than}" if check.times != 1 else f"that of {check.than}") \
        if check.than is not None else f"{check.value:g}"
    return f"`{check.metric}` of {check.of} {_WORDS[check.must_be]} {right}"


def _scenario_name(loaded: LoadedLesson, label: str, root: Path) -> str:
    file = loaded.files[label]
    return f"builtin:{file.relative_to(root.resolve()).with_suffix('').as_posix()}"


def lesson_section(loaded: LoadedLesson, root: Path) -> str:
    """One lesson's section of the guide."""
    ref, lesson = loaded.ref, loaded.lesson
    rows = "\n".join(f"| {s.label} | `{_scenario_name(loaded, s.label, root)}` |" for s in lesson.scenarios)
    metrics = sorted({c.metric for c in lesson.claim})
    meaning = "; ".join(f"`{m}`: {METRICS[m]}" for m in metrics)
    checks = "\n".join(f"- {check_text(c)}" for c in lesson.claim)
    return (f"## {ref.number}. {lesson.title}\n\n"
            f"{_para(lesson.concept)}\n\n"
            f"**Run it:** `chaossim lesson {ref.number}`. **What differs:** {_para(lesson.differs_in)}\n\n"
            f"| label | scenario |\n|---|---|\n{rows}\n\n"
            f"**What to look at.** {_para(lesson.look_at)}\n\n"
            f"**Question.** {_para(lesson.question)}\n\n"
            f"<details><summary><b>Answer</b> (guess first)</summary>\n\n{_para(lesson.answer)}\n\n</details>\n\n"
            f"**What the test checks** (seed {lesson.seed}):\n\n{checks}\n\n({meaning}.)\n")


def guide(root: Path | None = None) -> str:
    """The whole guide: the preface, a table of contents, then every lesson in order."""
    root = library_dir() if root is None else root
    loaded = [load_lesson(ref) for ref in lesson_refs(root)]
    toc = "\n".join(f"{item.ref.number}. [{item.lesson.title}](#{_anchor(item)})" for item in loaded)
    sections = "\n".join(lesson_section(item, root) for item in loaded)
    return f"{PREFACE}\n## The lessons\n\n{toc}\n\n{sections}"


def _anchor(item: LoadedLesson) -> str:
    """GitHub's id of a lesson's heading: lower case, punctuation dropped, spaces to hyphens."""
    text = f"{item.ref.number}. {item.lesson.title}".lower()
    return "".join(c for c in text if c.isalnum() or c in "-_ ").replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.spec.lesson_guide docs/lessons.md``: write the guide."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sim.spec.lesson_guide docs/lessons.md", file=sys.stderr)
        return 2
    Path(args[0]).write_text(guide(), encoding="utf-8")
    print(f"wrote {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
