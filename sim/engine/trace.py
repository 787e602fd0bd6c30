"""Reading request traces in the Azure LLM inference trace format (TIMESTAMP, ContextTokens, GeneratedTokens)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUILTIN_TRACES = {"azure_conv": DATA_DIR / "azure_conv.csv"}


class TraceError(ValueError):
    """A trace file that cannot be used."""


@dataclass(frozen=True)
class Trace:
    """A trace as arrays: arrival offsets from the first request (s), prompt and output tokens."""

    offsets_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    @property
    def span_s(self) -> float:
        """Time from the first to the last arrival."""
        return float(self.offsets_s[-1]) if len(self.offsets_s) else 0.0


def resolve_trace_path(path: str) -> Path:
    """File behind a trace reference; ``builtin:NAME`` names a shipped trace."""
    if path.startswith("builtin:"):
        name = path[len("builtin:") :]
        if name not in BUILTIN_TRACES:
            raise TraceError(f"unknown built-in trace '{name}' (known: {', '.join(sorted(BUILTIN_TRACES))})")
        return BUILTIN_TRACES[name]
    return Path(path)


_NOT_A_TIME = "TIMESTAMP is not a date and time like 2023-11-16 18:15:46.68"


def _is_time(text: str) -> bool:
    try:
        np.datetime64(text, "us")
    except ValueError:
        return False
    return True


def _parse_times_s(texts: list[str]) -> np.ndarray:
    """Seconds since the epoch; numpy parses ISO times in bulk (7 fractional digits cut to microseconds)."""
    iso = [t.strip().replace(" ", "T", 1)[:26] for t in texts]
    try:
        stamps = np.array(iso, dtype="datetime64[us]")
    except ValueError:
        line = next(i for i, t in enumerate(iso, start=2) if not _is_time(t))  # only on the error path
        raise TraceError(f"line {line}: {_NOT_A_TIME}") from None
    missing = np.isnat(stamps)  # an empty or 'NaT' cell parses, as "not a time"
    if missing.any():
        raise TraceError(f"line {int(np.argmax(missing)) + 2}: {_NOT_A_TIME}")
    return stamps.astype(np.int64) / 1e6


def load_trace(path: str) -> Trace:
    """Read a trace CSV; rows are sorted by time, offsets start at zero."""
    file = resolve_trace_path(path)
    try:
        with open(file, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            need = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
            if reader.fieldnames is None or not need <= set(reader.fieldnames):
                raise TraceError(f"{path}: needs columns {', '.join(sorted(need))}")
            times, prompts, outputs = [], [], []
            for line, row in enumerate(reader, start=2):
                try:
                    times.append(row["TIMESTAMP"])
                    prompts.append(max(1, int(row["ContextTokens"])))
                    outputs.append(max(1, int(row["GeneratedTokens"])))
                except (ValueError, TypeError):
                    raise TraceError(f"{path}: line {line} is not a valid trace row") from None
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TraceError(f"{path}: cannot be read ({err.__class__.__name__})") from None
    if not times:
        raise TraceError(f"{path}: has no rows")
    try:
        t = _parse_times_s(times)
    except TraceError as err:
        raise TraceError(f"{path}: {err}") from None
    order = np.argsort(t, kind="stable")
    t = t[order]
    return Trace(t - t[0], np.asarray(prompts, dtype=np.int64)[order], np.asarray(outputs, dtype=np.int64)[order])
