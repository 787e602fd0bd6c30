"""Writing a run's results to a directory, each file atomically.

Every file is written to a temporary name in the same directory and renamed into place, so an
interrupted run never leaves a half-written file. ``summary.json`` is written last: its presence
means the run directory is complete. ``manifest.json`` lists what chaossim wrote (sim.report.manifest).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from sim.observe.result import RunResult
from sim.report.atomic import atomic_write_text
from sim.report.manifest import begin_run, write_manifest


def to_json(data: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _csv_text(columns: dict[str, np.ndarray]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    w.writerow(names)
    cols = [np.asarray(columns[n]) for n in names]
    for row in zip(*cols, strict=True):
        w.writerow(_cell(v) for v in row)
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if np.isnan(v) else f"{float(v):.9g}"
    return str(v)


def _rows_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def histograms_csv(histograms: dict[str, np.ndarray]) -> str:
    """Per-bucket histograms as sparse rows (metric, bucket, bin, count), nonzero cells only."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "bucket", "bin", "count"])
    for name in sorted(histograms):
        counts = np.asarray(histograms[name])
        for b, k in zip(*np.nonzero(counts), strict=True):
            w.writerow([name, int(b), int(k), int(counts[b, k])])
    return buf.getvalue()


def write_run(result: RunResult, out_dir: Path, figures: bool = True) -> list[Path]:
    """Write summary.json, timeseries.csv, states.csv, faults.json, scenario.yaml, histograms.csv (and figures).

    ``out_dir`` must be new, empty or a run directory (sim.report.manifest): a rerun first deletes
    the files the old manifest lists, then writes; manifest.json lists what was written.
    """
    import yaml

    out_dir = Path(out_dir)
    planned = ["timeseries.csv", "states.csv", "faults.json", "scenario.yaml", "summary.json"]
    planned += ["requests.csv"] if result.requests is not None else []
    planned += ["histograms.csv"] if getattr(result, "histograms", None) else []
    planned += ["timeline.png", "swimlanes.png"] if figures else []
    # The old summary.json (the completeness mark) goes first, so an interrupted rerun never leaves it
    # next to new files; the manifest lists old and new files until the run is written.
    begin_run(out_dir, planned)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        atomic_write_text(out_dir / name, text)
        written.append(out_dir / name)

    put("timeseries.csv", _csv_text(result.timeseries))
    put("states.csv", _rows_csv(result.states_table()))
    put("faults.json", to_json(result.fault_log))
    put("scenario.yaml", yaml.safe_dump(result.scenario.model_dump(mode="json"), sort_keys=False))
    if result.requests is not None:
        put("requests.csv", _csv_text(result.requests))
    if getattr(result, "histograms", None):
        put("histograms.csv", histograms_csv(result.histograms))
    if figures:
        from sim.report.figures import save_swimlanes, save_timeline

        path = out_dir / "timeline.png"
        save_timeline(result, path)
        written.append(path)
        written.append(save_swimlanes(result, out_dir / "swimlanes.png"))
    put("summary.json", to_json(result.summary))
    write_manifest(out_dir, [p.name for p in written])
    return written
