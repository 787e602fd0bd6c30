"""Reading the kept columns of a CSV or JSONL trace with pyarrow's vectorised readers.

Only the columns a format names are converted, so memory grows with the kept columns, not with
Python objects per row. Every failure becomes one ``TraceError`` line; locating the offending line
(a slow Python scan) happens only on the error path.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from sim.engine.traces.formats import TraceFormat
from sim.engine.traces.model import TraceError

BLOCK_BYTES = 16 << 20
"""Largest line a reader accepts (16 MiB): a longer line is refused as a field too large."""


def file_kind(file: Path, fmt: TraceFormat) -> str:
    """``csv`` or ``jsonl``: the format's, or from the file name (``.jsonl``, ``.json``, ``.jsonl.gz``...)."""
    if fmt.file_kind != "auto":
        return fmt.file_kind
    suffixes = [s.lower() for s in file.suffixes if s.lower() not in (".gz",)]
    return "jsonl" if suffixes and suffixes[-1] in (".jsonl", ".json", ".ndjson") else "csv"


def _open_text(file: Path):
    return gzip.open(file, "rt", encoding="utf-8", newline="") if file.suffix == ".gz" else open(
        file, encoding="utf-8", newline=""
    )


def _stream(file: Path):
    return pa.input_stream(str(file), compression="gzip" if file.suffix == ".gz" else None)


def header_columns(file: Path, kind: str) -> list[str]:
    """Column names found in the file: the CSV header, or the keys of the first JSON object."""
    with _open_text(file) as fh:
        if kind == "csv":
            return next(csv.reader(fh), [])
        for line in fh:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    raise TraceError("line 1 is not a JSON object") from None
                if not isinstance(obj, dict):
                    raise TraceError("line 1 is not a JSON object")
                return list(obj)
    return []


def read_columns(file: Path, kind: str, types: dict[str, pa.DataType]) -> pa.Table:
    """The named columns, converted to the given types, in file order."""
    try:
        if kind == "csv":
            return _read_csv(file, types)
        return _read_jsonl(file, types)
    except pa.ArrowInvalid as err:
        raise TraceError(_explain(file, kind, types, str(err))) from None


def _read_csv(file: Path, types: dict[str, pa.DataType]) -> pa.Table:
    bad: list[int] = []

    def invalid_row(row) -> str:
        bad.append(row.actual_columns)
        return "skip"

    table = pa_csv.read_csv(
        _stream(file),
        read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=invalid_row),
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(types), column_types=types, null_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
    )
    if bad:
        raise TraceError(f"line {_first_short_row(file)} is not a valid trace row (wrong number of fields)")
    return table


def _read_jsonl(file: Path, types: dict[str, pa.DataType]) -> pa.Table:
    schema = pa.schema(list(types.items()))
    return pa_json.read_json(
        _stream(file),
        read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )


def _first_short_row(file: Path) -> int:
    with _open_text(file) as fh:
        reader = csv.reader(fh)
        width = len(next(reader, []))
        for row in reader:
            if len(row) != width:
                return reader.line_num
    return 0


def _explain(file: Path, kind: str, types: dict[str, pa.DataType], message: str) -> str:
    """One line for an arrow error: a line too long, or the first value that does not convert."""
    if "straddl" in message:
        return f"a line is longer than {BLOCK_BYTES >> 20} MiB (a field too large)"
    if kind == "csv":
        return _first_bad_csv_value(file, types) or "is not a valid CSV trace"
    return _first_bad_json_line(file, types) or "is not a valid JSONL trace"


def _bad_value(text: object, kind_of: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind_of):
        try:
            pa.array([text]).cast(kind_of)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return True
        return False
    if pa.types.is_floating(kind_of):
        if isinstance(text, bool) or text is None:
            return True
        try:
            float(text)
        except (TypeError, ValueError):
            return True
    return False


def _first_bad_csv_value(file: Path, types: dict[str, pa.DataType]) -> str | None:
    with _open_text(file) as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            for column, kind_of in types.items():
                text = row.get(column)
                if _bad_value(text, kind_of):
                    if pa.types.is_timestamp(kind_of):
                        return f"line {reader.line_num}: {column} is not a date and time ({_short(text)})"
                    return f"line {reader.line_num} is not a valid trace row: {column} is not a number ({_short(text)})"
    return None


def _first_bad_json_line(file: Path, types: dict[str, pa.DataType]) -> str | None:
    with _open_text(file) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                return f"line {number} is not a JSON object"
            if not isinstance(obj, dict):
                return f"line {number} is not a JSON object"
            for column, kind_of in types.items():
                value = obj.get(column)
                if pa.types.is_list(kind_of):
                    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                        return f"line {number}: {column} is not a list of integer ids ({_short(value)})"
                elif column in obj and _bad_value(value, kind_of):
                    return f"line {number}: {column} is not a number ({_short(value)})"
    return None


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "..."
