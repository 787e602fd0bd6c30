"""An experiment directory: one JSON file per finished run, and the tables and manifest built from them.

Each run's record is written as soon as it finishes, to a temporary name renamed into place, so a
half-written file never exists under a run's name. Re-running the same command finds the records
whose fingerprint (scenario, seed, options) matches and skips those runs; Ctrl-C loses at most the
runs in progress. Tables are written as CSV and Parquet (pyarrow).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sim.report.atomic import atomic_write_bytes

RUNS_DIR = "runs"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic rename."""
    atomic_write_bytes(path, data)


class Store:
    """The files of one experiment under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root}: exists and is not a directory")

    def run_path(self, key: str) -> Path:
        return self.root / RUNS_DIR / f"{key}.json"

    def get(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The finished record of run ``key`` if it was made with the same fingerprint, else None.

        A failed run is not reused (it is run again: the failure may have been the machine's).
        """
        try:
            record = json.loads(self.run_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("fingerprint") != fingerprint or record.get("status") != "ok":
            return None
        return record

    def put(self, record: dict[str, Any]) -> None:
        # keys keep their order, so a record read back gives the same table columns as a fresh one
        write_atomic(self.run_path(record["key"]), json.dumps(record).encode("utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        path = self.root / name
        write_atomic(path, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"))
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.root / name
        write_atomic(path, text.encode("utf-8"))
        return path

    def write_table(self, name: str, rows: Iterable[dict[str, Any]]) -> list[Path]:
        """``name.csv`` and ``name.parquet``: one row per dict; columns in first-seen order."""
        rows = list(rows)
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
        csv_path = self.root / f"{name}.csv"
        write_atomic(csv_path, buf.getvalue().encode("utf-8"))
        parquet_path = self.root / f"{name}.parquet"
        write_atomic(parquet_path, _parquet_bytes(rows, columns))
        return [csv_path, parquet_path]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.9g}"
    return value


def _parquet_bytes(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for col in columns:
        cells = [row.get(col) for row in rows]
        kinds = {type(c) for c in cells if c is not None}
        if kinds <= {int, float} and float in kinds:
            cells = [None if c is None else float(c) for c in cells]
        elif len(kinds) > 1:
            cells = [None if c is None else str(c) for c in cells]
        arrays[col] = pa.array(cells)
    table = pa.table(arrays) if columns else pa.table({})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()
