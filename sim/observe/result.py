"""RunResult: everything a run produced, as plain data (summary dict, numpy time series, timeline).

A result holds no live simulation object, so it pickles (it can come back from another process) and
two results compare with ``==``. Each component reports its own end-of-run figures (``report()``);
``collect`` only gathers them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx
import numpy as np

from sim.engine.histogram import quantile_from_counts
from sim.engine.request import FAILURE_REASONS, OUTCOMES, SUCCESS_OUTCOMES
from sim.engine.timeline import Load, Transition

REQUEST_COLUMNS = (
    "id", "client", "user", "arrival_s", "end_s", "outcome", "attempts", "latency_s", "ttft_s", "wait_s", "server",
    "prompt_tokens", "output_tokens",
)


@dataclass(eq=False)
class RunResult:
    """One run's results. ``summary`` is JSON-ready; ``timeseries`` maps names to equal-length arrays.

    Plain data: the scenario (a pydantic model), numbers, numpy arrays, the transitions and the topology
    graph. ``==`` compares every field (arrays element-wise, NaN equal to NaN).
    """

    scenario: Any
    seed: int
    summary: dict[str, Any]
    timeseries: dict[str, np.ndarray]
    transitions: list[Transition]
    fault_log: list[dict[str, Any]]
    graph: nx.DiGraph
    requests: dict[str, np.ndarray] | None = None
    histograms: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """Per-bucket log-histogram counts, shape (n_buckets, N_BINS): 'latency' and 'ttft' of served requests."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunResult):
            return NotImplemented
        return (self.scenario == other.scenario and self.seed == other.seed and self.summary == other.summary
                and _arrays_equal(self.timeseries, other.timeseries) and self.transitions == other.transitions
                and self.fault_log == other.fault_log and nx.utils.graphs_equal(self.graph, other.graph)
                and (self.requests is None) == (other.requests is None)
                and _arrays_equal(self.requests or {}, other.requests or {})
                and _arrays_equal(self.histograms, other.histograms))

    def to_pandas(self):
        """The time series as a pandas DataFrame (needs pandas, which chaossim does not depend on)."""
        import pandas as pd

        return pd.DataFrame(self.timeseries)

    def states_table(self) -> list[dict[str, Any]]:
        """The state timeline as rows: time, component, state, previous, cause and its links."""
        return [
            {"id": t.id, "t_s": t.t_s, "component": t.component, "state": t.state, "previous": t.previous or "",
             "cause_kind": t.cause.kind, "cause_source": t.cause.source, "mechanism": t.cause.mechanism,
             "detail": t.cause.detail, "parents": " ".join(str(p) for p in t.cause.parents),
             "loads": loads_text(t.cause.loads)}
            for t in self.transitions
        ]


def loads_text(loads: tuple[Load, ...]) -> str:
    """A cause's load sources as one CSV cell: JSON [[kind, source, detail, [parents]], ...], empty for none."""
    if not loads:
        return ""
    return json.dumps([[x.kind, x.source, x.detail, list(x.parents)] for x in loads], separators=(",", ":"))


def _arrays_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Same names, and each pair of arrays equal in shape and values (NaN equals NaN)."""
    if a.keys() != b.keys():
        return False
    for name, x in a.items():
        x, y = np.asarray(x), np.asarray(b[name])
        if x.shape != y.shape or x.dtype.kind != y.dtype.kind:
            return False
        if not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            return False
    return True


class Reporting(Protocol):
    """What ``collect`` needs of a component: its kind and its own end-of-run figures."""

    kind: str

    def report(self) -> dict[str, Any]:
        """Plain, JSON-ready figures (counts, ratios, the final state)."""
        ...


def _stats(hist) -> dict[str, float | None]:
    if not hist.count:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    return {"count": hist.count, "mean": hist.mean, "p50": hist.quantile(0.5), "p90": hist.quantile(0.9),
            "p99": hist.quantile(0.99), "max": hist.max}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes None, floats are rounded to 9 significant digits for readable output."""
    if isinstance(value, float | np.floating):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else float(f"{v:.9g}")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def fault_log(world: Any) -> list[dict[str, Any]]:
    """The run's fault log (from the fault ledger; empty when no fault was scheduled)."""
    return world.faults.log if world.faults is not None else []


def collect(scenario: Any, seed: int, world: Any, stack: Any, graph: nx.DiGraph) -> RunResult:
    """Assemble a RunResult from a finished world: the recorders' figures and each component's ``report()``."""
    m = world.metrics
    run = scenario.run
    outcomes = dict(zip(OUTCOMES, m.total_outcomes, strict=True))
    ended = sum(m.total_outcomes)
    now = world.env.now
    components: dict[str, Reporting] = stack.by_name
    live = [t_s for c in stack.by_name.values() if c.kind == "client" for t_s in c.in_flight_arrivals_s()]
    in_flight = len(live)
    oldest_s = max((now - t_s for t_s in live), default=0.0)
    measured = dict(zip(OUTCOMES, m.measured_outcomes, strict=True))
    measured_ended = sum(m.measured_outcomes)
    served = sum(measured[o] for o in SUCCESS_OUTCOMES)
    window_s = run.duration_s - run.warmup_s
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "duration_s": run.duration_s,
        "warmup_s": run.warmup_s,
        "accounting": {
            "arrivals": m.total_arrivals,
            "ended": ended,
            "in_flight_at_end": in_flight,
            "outcomes": outcomes,
            "oldest_in_flight_age_s": oldest_s,
            "balanced": m.total_arrivals == ended + in_flight,
        },
        "attempts": m.total_attempts,
        "attempts_per_request": m.total_attempts / m.total_arrivals if m.total_arrivals else None,
        "measured": {
            "window_s": [run.warmup_s, run.duration_s],
            "ended": measured_ended,
            "availability": measured["success"] / measured_ended if measured_ended else None,
            "served_ratio": served / measured_ended if measured_ended else None,
            "goodput_rps": measured["success"] / window_s,
            "outcomes": measured,
            "failures": {r: measured[r] for r in FAILURE_REASONS if measured[r]},
            "latency_s": _stats(m.latency),
            "ttft_s": _stats(m.ttft),
            "tpot_s": _stats(m.tpot),
            "users": m.user_counts(),
            "since_first_fault": {
                "from_s": None if m.incident_from_s == float("inf") else m.incident_from_s,
                "ended": m.since_ended,
                "not_success": m.since_not_success,
                "by_server": m.server_shares(),
            },
        },
        "components": {name: c.report() for name, c in components.items()},
        "faults": fault_log(world),
    }
    responders = stack.mechanisms.get("response") if hasattr(stack, "mechanisms") else None
    if responders is not None:  # what the operators saw and did (sim.response)
        summary["response"] = responders.report()
    summary = _clean(summary)

    n = m.n_buckets
    t = np.arange(n) * run.bucket_s
    counts = np.asarray(m.outcomes, dtype=np.int64).reshape(n, len(OUTCOMES))
    arrivals = np.asarray(m.arrivals, dtype=np.int64)
    ended_b = counts.sum(axis=1)
    served_b = counts[:, [OUTCOMES.index(o) for o in SUCCESS_OUTCOMES]].sum(axis=1)
    lat = m.histogram_array("latency")
    ttft = m.histogram_array("ttft")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(ended_b > 0, counts[:, 0] / np.maximum(ended_b, 1), np.nan)
    ts: dict[str, np.ndarray] = {
        "t_s": t,
        "arrivals": arrivals,
        "attempts": np.asarray(m.attempts, dtype=np.int64),
        "ended": ended_b,
        "success_ratio": ratio,
        "goodput_rps": counts[:, 0] / run.bucket_s,
        "served": served_b,
        "in_flight": np.cumsum(arrivals) - np.cumsum(ended_b),
        "latency_p50_s": quantile_from_counts(lat, 0.5),
        "latency_p99_s": quantile_from_counts(lat, 0.99),
        "ttft_p50_s": quantile_from_counts(ttft, 0.5),
        "ttft_p99_s": quantile_from_counts(ttft, 0.99),
    }
    for i, name in enumerate(OUTCOMES):
        ts[f"outcome_{name}"] = counts[:, i]
    requests = None
    if m.records is not None:
        cols = list(zip(*m.records, strict=True)) if m.records else [[] for _ in REQUEST_COLUMNS]
        requests = {name: np.asarray(col) for name, col in zip(REQUEST_COLUMNS, cols, strict=True)}
    return RunResult(scenario, seed, summary, ts, list(world.timeline.transitions), list(fault_log(world)), graph,
                     requests, {"latency": lat, "ttft": ttft})
