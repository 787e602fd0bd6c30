"""Files a scenario names, resolved against the folder of the scenario file that names them.

A trace path such as ``traces/launch.csv`` in ``studies/launch.yaml`` means
``studies/traces/launch.csv`` wherever chaossim is started from, as a path in any config file
does. The path is made absolute before validation, so the run directory's scenario.yaml names the
file that was actually read. ``builtin:`` names and absolute paths are kept as they are.

A ``builtin:`` scenario name is resolved here too: ``builtin:demo`` is the package's demo, and
``builtin:<folder>/<name>`` a file of the scenario library (the repository's scenarios/ folder,
which a wheel installs as ``sim/library/``), so the same name works from a checkout and an install.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any


def resolve_path(path: str, base_dir: Path) -> str:
    """``path`` taken relative to ``base_dir`` (absolute, normalised); builtin: and absolute paths unchanged."""
    if path.startswith("builtin:") or os.path.isabs(path) or not path:
        return path
    return os.path.normpath(os.path.join(os.path.abspath(base_dir), path))


def resolve_trace_paths(data: Any, base_dir: Path) -> Any:
    """The raw scenario with every client's trace path resolved against ``base_dir``.

    Works on the data as read from YAML, before validation, and leaves anything malformed alone
    (validation reports it); the input is not modified.
    """
    try:
        clients = data["workload"]["clients"]
    except (TypeError, KeyError, IndexError):
        return data
    if not isinstance(clients, list):
        return data
    new_clients = []
    for client in clients:
        arrival = client.get("arrival") if isinstance(client, dict) else None
        if isinstance(arrival, dict) and arrival.get("kind") == "trace" and isinstance(arrival.get("path"), str):
            client = {**client, "arrival": {**arrival, "path": resolve_path(arrival["path"], base_dir)}}
        new_clients.append(client)
    return {**data, "workload": {**data["workload"], "clients": new_clients}}


# --- built-in scenarios: ``builtin:demo`` and ``builtin:<folder>/<name>`` --------------------------------------

SIM_DIR = Path(__file__).resolve().parent.parent
DEMO_DIR = SIM_DIR / "scenarios_builtin"
"""``builtin:demo`` (a name without a folder) is a file here."""

INSTALLED_LIBRARY = SIM_DIR / "library"
"""Where a wheel installs the repository's scenarios/ folder (pyproject.toml maps ``sim.library`` to it)."""

CHECKOUT_LIBRARY = SIM_DIR.parent / "scenarios"
"""The library in a checkout (or an editable install): the repository's top-level scenarios/ folder."""

LESSON_FILE = "lesson.yaml"
"""A lesson's description beside its scenarios (sim.spec.lesson); not a scenario itself."""

_BUILTIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*(/[A-Za-z0-9][A-Za-z0-9_\-]*)*")


class BuiltinError(ValueError):
    """A ``builtin:`` name that names no shipped scenario; the message is the reason, in one line."""


def library_dir() -> Path | None:
    """The shipped scenario library: the installed copy, else the checkout's scenarios/ (None: neither)."""
    for candidate in (INSTALLED_LIBRARY, CHECKOUT_LIBRARY):
        if candidate.is_dir():
            return candidate
    return None


def builtin_file(name: str) -> Path:
    """The file behind ``builtin:<name>``: ``demo`` in the package, ``<folder>/<name>`` in the library.

    Raises BuiltinError for a name that could leave the library (``..``, absolute, odd characters),
    a lesson's own file, or a name that names no file (the reason says "no such file").
    """
    if name.endswith((".yaml", ".yml")):
        stem = name.rsplit(".", 1)[0]
        raise BuiltinError(f"not a built-in scenario name: write builtin:{stem} (without the extension)")
    if not _BUILTIN_NAME.fullmatch(name):
        raise BuiltinError("not a built-in scenario name (letters, digits, - and _, folders separated by /)")
    if name.rsplit("/", 1)[-1] == LESSON_FILE.removesuffix(".yaml"):
        raise BuiltinError("is a lesson's description, not a scenario (run it with chaossim lesson N)")
    if "/" not in name:
        path = DEMO_DIR / f"{name}.yaml"
    else:
        root = library_dir()
        if root is None:
            raise BuiltinError("no such file: this installation has no scenario library")
        path = root / f"{name}.yaml"
    if not path.is_file():
        raise BuiltinError("no such file: no built-in scenario of that name (chaossim list shows them all)")
    return path


def scenario_files(root: Path | None = None) -> list[Path]:
    """Every scenario file of the library (or of ``root``), sorted; lesson descriptions are left out."""
    root = library_dir() if root is None else root
    if root is None:
        return []
    return sorted(p for p in root.rglob("*.yaml") if p.name != LESSON_FILE and p.is_file())


def builtin_id(path: Path, root: Path | None = None) -> str:
    """The ``builtin:`` name of a library file: ``builtin:incidents/openai-2023-11-08-devday``."""
    root = library_dir() if root is None else root
    if root is None:
        raise BuiltinError("this installation has no scenario library")
    relative = path.relative_to(root).with_suffix("")
    return "builtin:" + relative.as_posix()
