"""Loading a run directory back into the data the analysis, figures and report need.

A run directory (written by ``sim.report.files.write_run``) holds summary.json, timeseries.csv,
states.csv (transitions with their causes and parent links), faults.json, scenario.yaml and
histograms.csv. ``load_run`` rebuilds a ``RunResult`` from them (without per-request records or live
components), so every analysis function takes a live result or a loaded one alike.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.engine.histogram import N_BINS
from sim.engine.timeline import Cause, Load, Transition
from sim.observe.result import RunResult
from sim.spec.scenario import Scenario
from sim.spec.source import SourceError, check_characters, check_yaml_shape

REQUIRED_FILES = ("summary.json", "timeseries.csv", "states.csv", "faults.json", "scenario.yaml")


class RunDirError(ValueError):
    """A directory that is not a complete run directory."""


def scenario_yaml(data: Any) -> str:
    """The scenario as YAML text, exactly as ``write_run`` writes it to scenario.yaml."""
    return yaml.safe_dump(data.scenario.model_dump(mode="json"), sort_keys=False)


def _column(values: list[str]) -> np.ndarray:
    try:
        ints = [int(v) for v in values]
        return np.asarray(ints, dtype=np.int64)
    except ValueError:
        return np.asarray([float(v) if v != "" else np.nan for v in values], dtype=float)


def read_timeseries(path: Path) -> dict[str, np.ndarray]:
    """timeseries.csv as name → array (integer columns stay integer; empty cells are NaN)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise RunDirError(f"{path}: empty file")
    names, body = rows[0], rows[1:]
    cols = list(zip(*body, strict=True)) if body else [() for _ in names]
    out = {name: _column(list(col)) for name, col in zip(names, cols, strict=True)}
    if "t_s" in out:
        out["t_s"] = out["t_s"].astype(float)
    return out


def read_transitions(path: Path) -> list[Transition]:
    """states.csv back into transitions with their causes and parent links."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        parents = tuple(int(p) for p in row["parents"].split()) if row["parents"] else ()
        cause = Cause(row["cause_kind"], row["cause_source"], row["mechanism"], row["detail"], parents,
                      _loads(row.get("loads") or ""))
        out.append(Transition(int(row["id"]), float(row["t_s"]), row["component"], row["state"],
                              row["previous"] or None, cause))
    return out


def _loads(text: str) -> tuple[Load, ...]:
    """The ``loads`` cell of states.csv (JSON, empty for none; absent in run directories written before it)."""
    if not text:
        return ()
    try:
        return tuple(Load(str(k), str(s), str(d), tuple(int(p) for p in ps)) for k, s, d, ps in json.loads(text))
    except (ValueError, TypeError) as err:
        raise RunDirError(f"states.csv: loads: not a list of [kind, source, detail, [parents]] ({err})") from None


def read_histograms(path: Path, n_buckets: int) -> dict[str, np.ndarray]:
    """histograms.csv (sparse rows) back into dense (n_buckets, N_BINS) arrays."""
    out: dict[str, np.ndarray] = {}
    if not path.exists():
        return out
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            arr = out.get(row["metric"])
            if arr is None:
                arr = out[row["metric"]] = np.zeros((n_buckets, N_BINS), dtype=np.int64)
            arr[int(row["bucket"]), int(row["bin"])] = int(row["count"])
    return out


def _scenario_of(text: str) -> Scenario:
    """The run's scenario as it was run; its cross-references were checked then (and trace files may
    be relative to where it ran), so only the schema is checked here (after the YAML's own shape:
    a hand-edited file may nest 500 levels deep or hide an alias bomb)."""
    try:
        check_characters(text)
        check_yaml_shape(text)
    except SourceError as err:
        raise ValueError(str(err)) from None
    return Scenario.model_validate(yaml.safe_load(text))


class _Open(BaseModel):
    """Strict types for the keys the analysis reads; other keys pass (a newer chaossim may add some)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


Number = float | None


class _Accounting(_Open):
    arrivals: int = Field(ge=0)
    ended: int = Field(ge=0)
    in_flight_at_end: int = Field(ge=0)
    balanced: bool
    outcomes: dict[str, int]


class _Measured(_Open):
    window_s: tuple[float, float] = Field(strict=False)
    availability: Number
    goodput_rps: float
    ended: int = Field(ge=0)
    failures: dict[str, int]
    outcomes: dict[str, int]
    latency_s: dict[str, Number]
    ttft_s: dict[str, Number]


class _Summary(_Open):
    """What every summary.json holds (sim.observe.result writes it)."""

    scenario: str
    seed: int = Field(ge=0)
    duration_s: float = Field(gt=0)
    warmup_s: float = Field(ge=0)
    attempts_per_request: Number
    accounting: _Accounting
    measured: _Measured


def check_summary(data: Any) -> dict[str, Any]:
    """summary.json's data if it has the shape of a run's summary; ValueError naming the first bad key."""
    if not isinstance(data, dict):
        raise ValueError(f"not a run summary (a JSON {type(data).__name__.replace('dict', 'object')}, "
                         "not an object)")
    try:
        _Summary.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(summary)"
        reason = "missing" if first["type"] == "missing" else first["msg"].lower()
        raise ValueError(f"not a run summary ({loc}: {reason})") from None
    return data


def load_run(run_dir: str | Path) -> RunResult:
    """Read a complete run directory; a missing file or a bad scenario raises RunDirError."""
    from sim.assembly.topology import topology_graph

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: not a directory")
    missing = [name for name in REQUIRED_FILES if not (run_dir / name).is_file()]
    if missing:
        raise RunDirError(f"{run_dir}: not a complete run directory (missing {', '.join(missing)})")

    def read(name: str, parse: Any) -> Any:
        """Parse one file; anything unreadable becomes one RunDirError line naming the file."""
        path = run_dir / name
        try:
            return parse(path)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark
            where = f"line {mark.line + 1}" if mark else "unknown position"
            raise RunDirError(f"{path}: YAML syntax error at {where}: {err.problem}") from None
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            loc = ".".join(str(x) for x in first["loc"]) or "(scenario)"
            raise RunDirError(f"{path}: not a valid scenario ({loc}: {first['msg']})") from None
        except (OSError, ValueError, KeyError, IndexError, TypeError, RecursionError) as err:
            detail = " ".join(str(err).split())[:200]
            raise RunDirError(f"{path}: cannot be read ({err.__class__.__name__}: {detail})") from None

    text = read("scenario.yaml", lambda p: p.read_text(encoding="utf-8"))
    scenario = read("scenario.yaml", lambda p: _scenario_of(text))
    summary = read("summary.json", lambda p: check_summary(json.loads(p.read_text(encoding="utf-8"))))
    ts = read("timeseries.csv", read_timeseries)
    n = len(ts.get("t_s", []))
    return RunResult(
        scenario=scenario,
        seed=int(summary.get("seed", scenario.run.seed)),
        summary=summary,
        timeseries=ts,
        transitions=read("states.csv", read_transitions),
        fault_log=read("faults.json", lambda p: json.loads(p.read_text(encoding="utf-8"))),
        graph=topology_graph(scenario),
        histograms=read("histograms.csv", lambda p: read_histograms(p, n)),
    )
