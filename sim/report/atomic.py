"""Atomic file writes: write to a temporary name in the same directory, then rename into place.

An interrupted run never leaves a half-written file. Both the run directory writer (``files``) and
the figures (``figures``) write through here, so neither needs the other for it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
"""Read once at import: os.umask can only be read by setting it, which is process-wide."""


def _umask() -> int:
    return _UMASK


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` via a temporary file and a rename."""
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data), suffix=".tmp")


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: Path, writer: Callable[[Path], None], suffix: str | None = None) -> None:
    """Let ``writer`` produce a file at a temporary path (e.g. matplotlib's savefig), then rename it.

    The temporary file is hidden (a leading dot) beside ``path`` and ends in ``suffix`` (default: the
    path's own, which tells writers such as savefig the format); it is removed if anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
