"""The shipped scenario library as a catalogue: every scenario, its ``builtin:`` name and one line.

``chaossim list`` prints this. The files are discovered when asked (the library grows: a new replay
is a new file, nothing to register), grouped by their folder, and each is validated: a scenario that
does not validate is listed with its first problem instead of its description, so one broken file
never hides the others or ends in a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.spec.loader import ScenarioError, load_scenario
from sim.spec.paths import DEMO_DIR, builtin_id, library_dir, scenario_files

FOLDER_TITLES = {
    "demo": "the built-in demo (chaossim run with no argument)",
    "incidents": "replays of published outages",
    "lessons": "the teaching path (chaossim lesson N; guide: docs/lessons.md)",
    "teaching": "before/after pairs that differ in one mechanism",
    "faults": "fault examples, one per fault family",
    "traces": "replays of production traces",
    "validation": "queueing-theory cases with their analytic figures",
}
"""A heading per known folder, in the order they are listed; other folders follow in name order."""

MAX_LINE_CHARS = 90
"""A description longer than this is cut to its first sentence, then at a word to this length."""


@dataclass(frozen=True)
class Entry:
    """One shipped scenario: its ``builtin:`` name, its folder, one line about it, or why it is invalid."""

    name: str
    folder: str
    line: str
    problem: str | None = None


def one_line(description: str) -> str:
    """A description as one line: whitespace folded; a long one cut to its first sentence, then shortened."""
    text = " ".join(description.split())
    if len(text) > MAX_LINE_CHARS and ". " in text:
        text = text.split(". ", 1)[0] + "."
    if len(text) > MAX_LINE_CHARS:
        text = text[: MAX_LINE_CHARS - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."
    return text or "(no description)"


def _entry(name: str, folder: str, path: Path) -> Entry:
    try:
        scenario = load_scenario(path)
    except ScenarioError as err:
        first = err.problems[0] if err.problems else "invalid"
        more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
        return Entry(name, folder, "", f"{first}{more}")
    return Entry(name, folder, one_line(scenario.description))


def _folder(path: Path, root: Path) -> str:
    """The top folder of a library file (``incidents``); a file at the top of the library is in ``library``."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else "library"


def folders() -> list[str]:
    """The library's folders, in listing order (``demo`` first)."""
    root = library_dir()
    found = {"demo"} | ({_folder(p, root) for p in scenario_files(root)} if root else set())
    known = [f for f in FOLDER_TITLES if f in found]
    return known + sorted(found - set(known))


def catalogue(folder: str | None = None) -> list[Entry]:
    """Every shipped scenario (of one folder, if given), in listing order, each validated."""
    root = library_dir()
    entries = [_entry(f"builtin:{p.stem}", "demo", p) for p in sorted(DEMO_DIR.glob("*.yaml"))]
    for path in scenario_files(root) if root else []:
        entries.append(_entry(builtin_id(path, root), _folder(path, root), path))
    order = {name: i for i, name in enumerate(folders())}
    entries = [e for e in entries if folder is None or e.folder == folder]
    return sorted(entries, key=lambda e: (order.get(e.folder, len(order)), e.name))
