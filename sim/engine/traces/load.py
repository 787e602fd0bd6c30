"""Loading a trace file into a ``Trace``: resolve the file, pick the format, convert and check columns.

Conversion is vectorised (numpy over arrow columns); each check names the first offending line.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.engine.traces.formats import BUILTIN_TRACES, FORMATS, SECONDS_PER_UNIT, TraceFormat, guess_format
from sim.engine.traces.model import Trace, TraceError
from sim.engine.traces.read import _open_text, file_kind, header_columns, read_columns

MAX_TOKENS = 10**9
"""Largest token count a row may carry: anything above is a corrupt or overflowing field."""
MAX_ABS_TIME_S = 1e11
"""Largest time value (about 3,000 years, after the unit): beyond it a number has overflowed."""

FailedRows = Literal["skip", "fail"]


def resolve_trace_path(path: str) -> Path:
    """File behind a trace reference; ``builtin:NAME`` names a shipped trace."""
    if path.startswith("builtin:"):
        return BUILTIN_TRACES[_builtin_name(path)].file
    return Path(path)


def _builtin_name(path: str) -> str:
    name = path[len("builtin:") :]
    if name not in BUILTIN_TRACES:
        raise TraceError(f"unknown built-in trace '{name}' (known: {', '.join(sorted(BUILTIN_TRACES))})")
    return name


def trace_format(path: str, fmt: str | TraceFormat | None, found: list[str]) -> TraceFormat:
    """The format to read ``path`` with: given, the built-in trace's, or guessed from the columns found."""
    if isinstance(fmt, TraceFormat):
        return fmt
    if fmt is None and path.startswith("builtin:"):
        fmt = BUILTIN_TRACES[_builtin_name(path)].format
    if fmt is None:
        fmt = guess_format(found)
    if fmt is None:
        azure = ", ".join(sorted(FORMATS["azure"].columns()))
        raise TraceError(
            f"needs columns {azure} (Azure), or format: mooncake / burstgpt, or a columns: mapping; "
            f"found: {', '.join(found) or 'none'}"
        )
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format '{fmt}' (known: {', '.join(FORMATS)})")
    return FORMATS[fmt]


def load_trace(
    path: str,
    fmt: str | TraceFormat | None = None,
    *,
    model: str | None = None,
    from_s: float | None = None,
    to_s: float | None = None,
    failed_rows: FailedRows = "skip",
) -> Trace:
    """Read a trace; rows sorted by time, offsets from the first kept request.

    ``model`` keeps the rows of one model; ``from_s`` / ``to_s`` keep a time slice (seconds from
    the trace's first request). Rows that record failed requests are dropped (``skip``, counted in
    the notes) or kept and flagged (``fail``).
    """
    file = resolve_trace_path(path)
    try:
        if not file.is_file():
            raise TraceError(f"{path}: no such file" if not file.exists() else f"{path}: cannot be read (not a file)")
        trace = _load(file, path, fmt, model, from_s, to_s, failed_rows)
    except TraceError as err:
        text = str(err)
        raise TraceError(text if text.startswith(f"{path}: ") else f"{path}: {text}") from None
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise TraceError(f"{path}: cannot be read ({err.__class__.__name__})") from None
    return trace


def _load(file: Path, path: str, fmt_name, model, from_s, to_s, failed_rows) -> Trace:
    guess = FORMATS.get(fmt_name) if isinstance(fmt_name, str) else fmt_name
    kind = file_kind(file, guess) if guess is not None else file_kind(file, TraceFormat("", "", ""))
    found = header_columns(file, kind)
    fmt = trace_format(path, fmt_name, found)
    kind = file_kind(file, fmt)
    if model is not None and fmt.model is None:
        raise TraceError("a model filter needs a model column (this format has none)")
    missing = [c for c in fmt.columns() if c not in found]
    if missing:
        raise TraceError(
            f"needs columns {', '.join(sorted(fmt.columns()))}; missing {', '.join(missing)}; "
            f"found: {', '.join(found) or 'none'}"
        )
    table = read_columns(file, kind, _arrow_types(fmt, kind, file))
    if table.num_rows == 0:
        raise TraceError("has no rows")
    first_line = 2 if kind == "csv" else 1
    times_s = _times_s(table.column(fmt.time), fmt, first_line)
    prompt = _tokens(table.column(fmt.prompt_tokens), fmt.prompt_tokens, first_line)
    output = _tokens(table.column(fmt.output_tokens), fmt.output_tokens, first_line)
    keep = np.ones(len(times_s), dtype=bool)
    notes: list[str] = []
    failed = output == 0 if fmt.failed_if_output_zero else None
    if failed is not None and failed.any():
        if failed_rows == "skip":
            keep &= ~failed
            notes.append(f"{int(failed.sum())} rows record failed requests (zero output tokens): skipped")
        else:
            notes.append(f"{int(failed.sum())} rows record failed requests (zero output tokens): replayed as failures")
    model_codes, model_names = None, ()
    if fmt.model is not None:
        model_codes, model_names = _codes(table.column(fmt.model))
        if model is not None:
            if model not in model_names:
                raise TraceError(f"no row has model '{model}' (models: {', '.join(model_names)})")
            keep &= model_codes == model_names.index(model)
    t0 = times_s.min()
    rel_s = times_s - t0
    if from_s is not None:
        keep &= rel_s >= from_s
    if to_s is not None:
        keep &= rel_s < to_s
    if not keep.any():
        raise TraceError("no rows left after the model and time filters")
    if not keep.all() and (from_s is not None or to_s is not None or model is not None):
        notes.append(f"{int(keep.sum())} of {len(keep)} rows kept by the model and time filters")
    sessions = None
    if fmt.session is not None:
        sessions, _ = _codes(table.column(fmt.session))
    blocks, starts = (None, None)
    if fmt.block_ids is not None:
        blocks, starts = _blocks(table.column(fmt.block_ids), first_line)
    del table
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(times_s[rows], kind="stable")]
    offsets = times_s[rows] - times_s[rows[0]]
    full = Trace(
        offsets_s=times_s, prompt_tokens=np.maximum(prompt, 1), output_tokens=np.maximum(output, 1),
        failed=failed if failed_rows == "fail" else None,
        model_codes=model_codes, model_names=model_names, sessions=sessions,
        block_ids=blocks, block_starts=starts, block_tokens=fmt.block_tokens, notes=tuple(notes),
    )
    trace = full.take(rows, offsets_s=offsets)
    return replace(trace, loaded_span_s=float(offsets[-1]))


def _arrow_types(fmt: TraceFormat, kind: str, file: Path) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {
        fmt.time: pa.timestamp("ns") if fmt.time_unit == "datetime" else pa.float64(),
        fmt.prompt_tokens: pa.float64(),
        fmt.output_tokens: pa.float64(),
    }
    if fmt.model is not None:
        types[fmt.model] = pa.string()
    if fmt.session is not None:
        types[fmt.session] = _session_type(file, fmt.session) if kind == "jsonl" else pa.string()
    if fmt.block_ids is not None:
        types[fmt.block_ids] = pa.list_(pa.int64()) if kind == "jsonl" else pa.string()
    if kind == "jsonl" and fmt.time_unit == "datetime":
        types[fmt.time] = pa.string()
    return types


def _session_type(file: Path, column: str) -> pa.DataType:
    """JSON session ids may be numbers or strings: the type of the first row's value."""
    with _open_text(file) as fh:
        for line in fh:
            if line.strip():
                value = json.loads(line).get(column)
                return pa.int64() if isinstance(value, int) and not isinstance(value, bool) else pa.string()
    return pa.string()


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numpy view of a primitive arrow array without nulls.

    Arrow's own ``to_numpy`` imports pandas when it is installed (a second per process, paid by every
    worker of an experiment), so the data buffer is viewed directly.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    dtype = np.dtype(array.type.to_pandas_dtype())
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def _null_line(column: pa.ChunkedArray, name: str, first_line: int) -> None:
    if column.null_count:
        line = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]) + first_line
        raise TraceError(f"line {line}: no value for {name}")


def _times_s(column: pa.ChunkedArray, fmt: TraceFormat, first_line: int) -> np.ndarray:
    _null_line(column, fmt.time, first_line)
    if fmt.time_unit == "datetime":
        if pa.types.is_string(column.type):
            try:
                column = pc.cast(column, pa.timestamp("ns"))
            except pa.ArrowInvalid:
                texts = column.to_pylist()
                i = next(i for i, t in enumerate(texts) if _not_time(t))
                raise TraceError(f"line {i + first_line}: {fmt.time} is not a date and time ({texts[i]!r})") from None
        # microseconds, as Azure's wall clock is read everywhere (its 7th fractional digit is dropped)
        return (_numpy(column.combine_chunks().cast(pa.int64())) // 1000) / 1e6
    values = _numpy(column) * SECONDS_PER_UNIT[fmt.time_unit]
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS_TIME_S)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceError(f"line {i + first_line}: {fmt.time} value {column[i].as_py()!r} is out of range (overflow)")
    return values


def _not_time(text: str) -> bool:
    try:
        pc.cast(pa.array([text]), pa.timestamp("ns"))
    except pa.ArrowInvalid:
        return True
    return False


def _tokens(column: pa.ChunkedArray, name: str, first_line: int) -> np.ndarray:
    """Whole, non-negative token counts below MAX_TOKENS (zero is kept here; callers decide)."""
    _null_line(column, name, first_line)
    values = _numpy(column)
    for bad, reason in (
        (values < 0, "is negative"),
        (~np.isfinite(values) | (values > MAX_TOKENS), f"is too large (over {MAX_TOKENS:,} tokens: overflow)"),
        (values != np.floor(values), "is not a whole number of tokens"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(f"line {i + first_line}: {name} {reason} ({column[i].as_py()!r})")
    return values.astype(np.int64)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and the distinct values (as text), in order of first appearance."""
    encoded = column.combine_chunks().dictionary_encode()
    names = tuple(str(v) for v in encoded.dictionary.to_pylist())
    codes = _numpy(encoded.indices).astype(np.int64)
    if encoded.null_count:
        codes = np.where(encoded.is_null().to_numpy(zero_copy_only=False), len(names), codes)
        names = names + ("",)
    return codes, names


def _blocks(column: pa.ChunkedArray, first_line: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat block ids and row starts; a CSV cell lists ids separated by spaces, commas, ; or |."""
    array = column.combine_chunks()
    if pa.types.is_string(array.type):
        parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(array), r"[\s,;|]+")
        flat = pc.list_flatten(parts)
        rows = pc.list_parent_indices(parts)
        kept = pc.not_equal(flat, "")
        try:
            ids = _numpy(pc.cast(flat.filter(kept), pa.int64()))
        except pa.ArrowInvalid:
            raise TraceError("a prefix block id is not an integer") from None
        lengths = np.bincount(_numpy(rows.filter(kept)), minlength=len(array))
    else:
        if array.null_count:
            line = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0]) + first_line
            raise TraceError(f"line {line}: no prefix block ids")
        ids = _numpy(pc.list_flatten(array)).astype(np.int64)
        lengths = _numpy(pc.list_value_length(array))
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return ids, starts
