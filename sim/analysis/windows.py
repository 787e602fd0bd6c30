"""Shared machinery of the run analyses: bucket series, triggers, phases and rolling windows.

Everything here works on the per-bucket time series (counts per outcome, latency / TTFT
histograms), so it needs no per-request records and works the same on a fresh ``RunResult`` and
on a run directory loaded back with ``sim.analysis.rundir.load_run``.

A *trigger* is what the experiment does to the system: a fault window (from the fault log) or a
load surge (a step of a Poisson / Gamma rate schedule above the client's base rate). Triggers
define the phases: before the first trigger starts, during (first start to last end), after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.alerting import Buckets
from sim.engine.histogram import MIDPOINTS, quantile_from_counts

FAILURE_NAMES = (
    "timeout", "rejected", "rate_limited", "no_healthy_upstream", "server_error", "dependency_error",
    "network_error", "cancelled",
)
EPS = 1e-9


@dataclass(frozen=True)
class Trigger:
    """A fault window or a load surge; ``end_s`` is None when it lasts to the end of the run."""

    label: str
    kind: str
    start_s: float
    end_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "start_s": self.start_s, "end_s": self.end_s}


class Series:
    """Per-bucket counts of a run, and trailing-window sums over them."""

    def __init__(self, data: Any):
        ts = data.timeseries
        run = data.scenario.run
        self.t_s = np.asarray(ts["t_s"], dtype=float)
        self.n = len(self.t_s)
        self.bucket_s = float(run.bucket_s)
        self.duration_s = float(run.duration_s)
        self.warmup_s = float(run.warmup_s)
        self.end_s = np.minimum(self.t_s + self.bucket_s, self.duration_s)
        self.ended = np.asarray(ts["ended"], dtype=np.int64)
        self.arrivals = np.asarray(ts["arrivals"], dtype=np.int64)
        self.attempts = np.asarray(ts["attempts"], dtype=np.int64)
        self.in_flight = np.asarray(ts["in_flight"], dtype=np.int64)
        self.outcome = {k[len("outcome_"):]: np.asarray(v, dtype=np.int64) for k, v in ts.items()
                        if k.startswith("outcome_")}
        self.success = self.outcome.get("success", np.zeros(self.n, dtype=np.int64))
        hist = getattr(data, "histograms", None) or {}
        self.hist = {k: np.asarray(v) for k, v in hist.items()}
        self.measured_from = int(np.searchsorted(self.t_s, self.warmup_s - EPS))
        """First bucket that starts at or after the warm-up."""

    def buckets(self) -> Buckets:
        """The run's counts as the monitors read them (``sim.engine.alerting``)."""
        return Buckets(self.ended, self.arrivals, self.attempts, self.in_flight, self.outcome,
                       {k: v for k, v in self.hist.items() if v.size})

    def index_at(self, t_s: float) -> int:
        """First bucket that starts at or after ``t_s``."""
        return int(np.searchsorted(self.t_s, t_s - EPS))

    def window_buckets(self, window_s: float) -> int:
        return max(1, int(round(window_s / self.bucket_s)))

    def trailing(self, x: np.ndarray, w: int, start: int = 0) -> np.ndarray:
        """For each bucket i, the sum of x over buckets max(start, i-w+1) .. i (zero before start)."""
        cs = np.concatenate(([0], np.cumsum(x)))
        i = np.arange(self.n)
        lo = np.maximum(start, i - w + 1)
        out = cs[i + 1] - cs[np.minimum(lo, i + 1)]
        out[:start] = 0
        return out

    def slow_counts(self, which: str, threshold_s: float) -> np.ndarray | None:
        """Per bucket, served requests whose latency bin lies above ``threshold_s`` (None without histograms)."""
        h = self.hist.get(which)
        if h is None or not len(h):
            return None
        return h[:, MIDPOINTS > threshold_s].sum(axis=1)

    def served_counts(self, which: str) -> np.ndarray | None:
        h = self.hist.get(which)
        return None if h is None or not len(h) else h.sum(axis=1)

    def window_quantile(self, which: str, q: float, lo: int, hi: int) -> float | None:
        """The q-quantile of a histogram summed over buckets lo..hi (inclusive)."""
        h = self.hist.get(which)
        if h is None or not len(h):
            return None
        v = float(quantile_from_counts(h[lo:hi + 1].sum(axis=0), q))
        return None if math.isnan(v) else v


def episodes_of(series: Series, name: str, cond: np.ndarray, for_s: float,
                value_at: Any = None) -> list[dict[str, Any]]:
    """Firing episodes of a condition evaluated per bucket: pending while it holds, firing after ``for_s``,
    resolved at the first evaluation where it is false. ``value_at(i)`` gives the value shown at firing."""
    episodes: list[dict[str, Any]] = []
    pending_since: float | None = None
    firing: dict[str, Any] | None = None
    for i in range(series.measured_from, series.n):
        t = float(series.end_s[i])
        if cond[i]:
            if pending_since is None:
                pending_since = t
            if firing is None and t - pending_since >= for_s - 1e-9:
                v = value_at(i) if value_at is not None else None
                firing = {"alert": name, "pending_s": pending_since, "fired_s": t, "resolved_s": None,
                          "value": None if v is None or np.isnan(v) else float(v)}
                episodes.append(firing)
        else:
            pending_since = None
            if firing is not None:
                firing["resolved_s"] = t
                firing = None
    return episodes


def fault_windows(fault_log: list[dict[str, Any]]) -> list[Trigger]:
    """(fault id, start, end or None) for every start in the fault log, in start order.

    A fault with no end in the log lasts to the end of the run (None). An instant fault (a crash
    with restart, a failover) logs its end at once, so its window has no width.
    """
    open_: dict[str, tuple[float, str]] = {}
    out: list[Trigger] = []
    for entry in fault_log:
        fid = entry["fault"]
        if entry["event"] == "start":
            open_[fid] = (float(entry["t_s"]), entry.get("kind", "fault"))
        elif entry["event"] == "end" and fid in open_:
            t0, kind = open_.pop(fid)
            out.append(Trigger(fid, f"fault:{kind}", t0, float(entry["t_s"])))
    out.extend(Trigger(fid, f"fault:{kind}", t0, None) for fid, (t0, kind) in open_.items())
    return sorted(out, key=lambda t: (t.start_s, t.label))


def surges(scenario: Any) -> list[Trigger]:
    """Windows where a client's scheduled arrival rate is above its base rate (a load trigger)."""
    out: list[Trigger] = []
    for client in scenario.workload.clients:
        arrival = client.arrival
        steps = sorted((s.at_s, s.rate_rps) for s in getattr(arrival, "schedule", []))
        if not steps:
            continue
        base = arrival.rate_rps
        start: float | None = None
        for at_s, rate in steps:
            if rate > base and start is None:
                start = at_s
            elif rate <= base and start is not None:
                out.append(Trigger(f"surge {client.name}", "surge", start, at_s))
                start = None
        if start is not None:
            out.append(Trigger(f"surge {client.name}", "surge", start, None))
    return out


def triggers(data: Any) -> list[Trigger]:
    """Every trigger of a run: fault windows and load surges, in start order."""
    return sorted(fault_windows(data.fault_log) + surges(data.scenario), key=lambda t: (t.start_s, t.label))


@dataclass(frozen=True)
class Phases:
    """Bucket index ranges [start, stop) of the three phases (empty ranges when not applicable)."""

    first_start_s: float | None
    last_end_s: float | None
    open_ended: bool
    ranges: dict[str, tuple[int, int]]


def phases(series: Series, trig: list[Trigger]) -> Phases:
    """Before the first trigger, during (first start to last end), after the last trigger ends."""
    m0, n = series.measured_from, series.n
    if not trig:
        return Phases(None, None, False, {"before": (m0, n), "during": (n, n), "after": (n, n)})
    first = min(t.start_s for t in trig)
    open_ended = any(t.end_s is None for t in trig)
    last = series.duration_s if open_ended else max(t.end_s for t in trig)
    # a bucket belongs to 'during' when it overlaps [first, last]
    before_stop = max(m0, int(np.searchsorted(series.end_s, first + EPS)))
    after_start = max(m0, series.index_at(last))
    before_stop = min(before_stop, after_start)
    ranges = {"before": (m0, before_stop), "during": (before_stop, after_start),
              "after": (after_start, n) if not open_ended else (n, n)}
    return Phases(first, None if open_ended else last, open_ended, ranges)


@dataclass
class Check:
    """One tolerance evaluated on rolling windows: judged and violating flags per bucket."""

    name: str
    description: str
    target: float
    op: str
    value: np.ndarray
    judged: np.ndarray
    violated: np.ndarray
    unit: str = ""


def tolerance_checks(series: Series, slo: Any, start: int, window_s: float | None = None) -> list[Check]:
    """Every SLO tolerance on windows of ``window_s`` (default the SLO's) clipped to begin at bucket ``start``.

    A window is judged when at least ``slo.min_requests`` requests ended in it; availability is also
    judged when that many arrived, counting as 0 when none ended (everything hung or queued).
    Percentile tolerances use the histogram identity p_q > X  ⇔  slow(X) > served - ceil(q·served),
    where slow(X) counts requests in bins above X — the same answer as the histogram quantile.
    """
    w = series.window_buckets(window_s or slo.window_s)
    ended = series.trailing(series.ended, w, start)
    judged = ended >= slo.min_requests
    safe = np.maximum(ended, 1)
    checks: list[Check] = []
    # availability is also judged when requests arrive but (almost) none end: a hang serves nobody
    arrived = series.trailing(series.arrivals, w, start)
    judged_av = judged | (arrived >= slo.min_requests)
    avail = np.where(ended > 0, series.trailing(series.success, w, start) / safe, 0.0)
    checks.append(Check("availability", f"availability ≥ {slo.availability:g}", slo.availability, "min",
                        avail, judged_av, judged_av & (avail < slo.availability - EPS), "ratio"))
    for which, field_name, label in (("latency", "p99_latency_s", "p99 latency"), ("ttft", "p99_ttft_s", "p99 TTFT")):
        bound = getattr(slo, field_name)
        if bound is None:
            continue
        slow = series.slow_counts(which, bound)
        served = series.served_counts(which)
        if slow is None or served is None:
            continue
        slow_w = series.trailing(slow, w, start)
        served_w = series.trailing(served, w, start)
        allowed = served_w - np.ceil(0.99 * served_w)
        ok_data = judged & (served_w > 0)
        # value shown: share of served requests slower than the bound (the check fails above 1 %)
        share = slow_w / np.maximum(served_w, 1)
        checks.append(Check(field_name, f"{label} ≤ {bound:g} s", bound, "max", share, ok_data,
                            ok_data & (slow_w > allowed), "share slower"))
    for reason, limit in sorted(slo.max_error_rate.items()):
        counts = series.outcome.get(reason)
        if counts is None:
            continue
        rate = series.trailing(counts, w, start) / safe
        checks.append(Check(f"error_rate:{reason}", f"{reason} rate ≤ {limit:g}", limit, "max", rate, judged,
                            judged & (rate > limit + EPS), "ratio"))
    return checks


def check_value_text(check: Check, series: Series, i: int, window_s: float, start: int) -> str:
    """The measured value of a check at bucket i, for people (a percentile is recomputed from the histogram)."""
    if check.name in ("p99_latency_s", "p99_ttft_s"):
        which = "latency" if check.name == "p99_latency_s" else "ttft"
        lo = max(start, i - series.window_buckets(window_s) + 1)
        q = series.window_quantile(which, 0.99, lo, i)
        return f"{q:.3g} s" if q is not None else "-"
    return f"{100 * float(check.value[i]):.2f} %"
