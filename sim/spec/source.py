"""Reading a scenario file and its YAML safely, before anything is validated.

A scenario path may name anything: a FIFO (reading it would block forever), a directory, a device,
a multi-gigabyte file. Only a regular file of at most ``MAX_SCENARIO_BYTES`` is read, without
blocking. Its text must be UTF-8 without control characters (reported with line and column), and
its YAML must not nest deeper than ``MAX_YAML_DEPTH`` (the YAML composer recurses per level) nor
expand, through anchors and aliases, to more than ``MAX_YAML_NODES`` values (an alias bomb).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

MAX_SCENARIO_BYTES = 2 * 1024 * 1024
"""2 MiB: a scenario with a thousand faults is about 200 KB; anything larger is not a scenario."""

MAX_YAML_DEPTH = 64
"""Scenarios nest about 8 levels; 64 leaves room for anything a person writes."""

MAX_YAML_NODES = 200_000
"""Values after expanding aliases; a scenario has a few hundred."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
"""Characters no scenario contains: C0 / C1 controls except tab, newline and carriage return."""


class SourceError(ValueError):
    """The file or its text cannot be a scenario; the message is one line without the file name."""


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a scenario file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a scenario file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a scenario file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a scenario file"
    return "is not a regular file"


def read_text(path: Path, max_bytes: int = MAX_SCENARIO_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; anything else raises SourceError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except OSError as err:
        raise SourceError(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    kind = _kind_of(mode)
    if kind is not None:
        raise SourceError(kind)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it must not block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise SourceError(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        kind = _kind_of(info.st_mode)
        if kind is not None:
            raise SourceError(kind)
        if info.st_size > max_bytes:
            raise SourceError(f"is {info.st_size:,} bytes; a scenario file may be at most {max_bytes:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise SourceError(f"cannot be read ({err.strerror or err.__class__.__name__})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SourceError(f"is larger than {max_bytes:,} bytes, the most a scenario file may be")
    return decode(data)


def line_col(text: str, index: int) -> str:
    """'line L, column C' of character ``index`` of ``text`` (both counted from 1)."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def decode(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); a bad byte is reported with line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8", errors="replace")
        raise SourceError(
            f"cannot be read: not UTF-8 text (byte 0x{data[err.start]:02x} at {line_col(good, len(good))})"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def check_characters(text: str) -> None:
    """Refuse control characters (they hide text in terminals and editors), naming the first's place."""
    found = _CONTROL.search(text)
    if found is not None:
        raise SourceError(
            f"control character U+{ord(found.group()):04X} at {line_col(text, found.start())} is not allowed"
        )


def check_yaml_shape(text: str) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH or expanding to more than MAX_YAML_NODES values.

    Walks the parser's event stream, which needs no recursion, before the composer (which recurses
    once per level) or the validator (which visits every expanded value) sees the document.
    Syntax errors are left to the loader, which reports them with their line and column.
    """
    stack: list[list] = []  # [anchor, expanded size] of each open collection
    sizes: dict[str, int] = {}
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_YAML_DEPTH:
                    mark = event.start_mark
                    raise SourceError(
                        f"YAML nested more than {MAX_YAML_DEPTH} levels deep at line {mark.line + 1}, "
                        f"column {mark.column + 1}"
                    )
                stack.append([event.anchor, 1])
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor, size = None, sizes.get(event.anchor, 1)
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
            else:
                total += size
            if total + sum(entry[1] for entry in stack) > MAX_YAML_NODES:
                mark = event.start_mark
                raise SourceError(
                    f"YAML expands to more than {MAX_YAML_NODES:,} values (anchors and aliases) at "
                    f"line {mark.line + 1}, column {mark.column + 1}"
                )
    except yaml.YAMLError:
        return  # a syntax error: the loader reports it with its position
