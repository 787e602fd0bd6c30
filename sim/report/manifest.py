"""The run directory is chaossim's, and only that: a manifest of the files chaossim wrote there.

``manifest.json`` in a run directory lists, relative to it, every file chaossim wrote (results,
figures, analysis.json, report.html, figures/...). It decides what chaossim may touch:

- a results folder is accepted if it does not exist, is empty, or holds a valid manifest; a folder
  with anything else in it (a user's own files, an old run without a manifest) is refused, so
  ``--out .`` can never replace a user's scenario.yaml or delete their report.html;
- a rerun deletes exactly the files the old manifest lists (stale figures of another scenario
  included) and nothing else; files it did not write stay, and are never listed;
- while a run writes, the manifest lists the old and the new files together, so an interrupted
  rerun leaves no file that a later rerun would not know to remove.

Format (JSON): ``{"format": "chaossim-run-directory", "version": 1, "chaossim": "<version>",
"files": ["faults.json", "figures/cascade.png", ...]}``, files sorted, each a relative path inside
the directory without ``..``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from sim.report.atomic import atomic_write_text

MANIFEST = "manifest.json"
FORMAT = "chaossim-run-directory"
VERSION = 1
LEGACY_MARKS = ("summary.json", "scenario.yaml", "timeseries.csv", "states.csv", "faults.json")
"""Files every run directory has: a folder with all of them and no manifest is an older chaossim's."""


class OutDirError(ValueError):
    """A results folder chaossim must not write to; the message is one line naming it."""


def _version() -> str:
    from sim import __version__

    return __version__


def _safe_name(name: object) -> bool:
    """A relative path inside the directory: no absolute path, no '..', no empty parts."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    return not PurePosixPath(name).is_absolute() and all(p not in ("", ".", "..") for p in parts)


def read_manifest(run_dir: Path) -> list[str] | None:
    """The files a valid manifest lists; None if there is none or it is not chaossim's."""
    path = Path(run_dir) / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > 10_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("format") == FORMAT and data.get("version") == VERSION):
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(_safe_name(f) for f in files):
        return None
    return [f for f in files if f != MANIFEST]


def write_manifest(run_dir: Path, files: Iterable[str]) -> None:
    """Write the manifest atomically (temporary file and rename) listing ``files``."""
    names = sorted({f for f in files if f != MANIFEST})
    doc = {"format": FORMAT, "version": VERSION, "chaossim": _version(), "files": names}
    atomic_write_text(Path(run_dir) / MANIFEST, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def check_out_dir(out: Path) -> None:
    """Raise OutDirError unless chaossim may write a run into ``out`` (new, empty, or its own run)."""
    if str(out) == "":
        raise OutDirError("--out: the results folder must not be empty text")
    if out.exists() and not out.is_dir():
        raise OutDirError(f"{out}: exists and is not a directory")
    if not out.exists():
        return
    try:
        entries = [e.name for e in os.scandir(out)]
    except OSError as err:
        raise OutDirError(f"{out}: cannot be read ({err.strerror or err})") from None
    if not entries or read_manifest(out) is not None:
        return
    if all((out / mark).exists() for mark in LEGACY_MARKS):
        raise OutDirError(f"{out}: a run directory of an older chaossim (no {MANIFEST}); remove it or choose "
                          "another folder")
    raise OutDirError(f"{out}: not empty and not a chaossim run directory (no {MANIFEST}); chaossim writes "
                      "only into a new or empty folder, or over its own run")


def prepare_out_dir(out: Path) -> bool:
    """Check ``out`` and make sure it can be written, before a run; True if it was created here.

    An unwritable folder is reported now, not after the simulation.
    """
    check_out_dir(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".chaossim-write-test.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        if created:
            _remove_empty(out)
        raise OutDirError(f"{out}: cannot write results there ({err.strerror or err})") from None
    return created


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def remove_listed(run_dir: Path, files: Iterable[str]) -> None:
    """Delete the listed files (never what they link to) and the folders they leave empty."""
    folders = set()
    for name in files:
        if not _safe_name(name):
            continue
        path = Path(run_dir) / name
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        folders.update(Path(run_dir) / p for p in PurePosixPath(name).parents if str(p) != ".")
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if not folder.is_symlink():
            _remove_empty(folder)


def begin_run(run_dir: Path, planned: Iterable[str]) -> None:
    """Before a (re)run writes: list old and planned files together, then delete the old ones."""
    check_out_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    old = read_manifest(run_dir) or []
    planned = list(planned)
    write_manifest(run_dir, [*old, *planned])
    remove_listed(run_dir, old)


def add_files(run_dir: Path, files: Iterable[str]) -> None:
    """Add files chaossim wrote to a run directory that has a manifest (analysis.json, report.html, ...).

    A run directory without one (an older chaossim's) is left without one.
    """
    old = read_manifest(run_dir)
    if old is not None:
        write_manifest(run_dir, [*old, *files])


def relative_names(run_dir: Path, paths: Iterable[Path]) -> list[str]:
    """Paths as names relative to ``run_dir`` (POSIX separators), for the manifest."""
    root = Path(run_dir).resolve()
    return [Path(p).resolve().relative_to(root).as_posix() for p in paths]
