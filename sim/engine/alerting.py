"""Alert rules evaluated bucket by bucket: the one evaluation used during the run and after it.

Operators react during the run, so alerts must fire while it runs; the post-run analysis reports
when they fired. Both feed the same ``RuleState`` (and ``ProbeState`` for the quality probe) one
completed time-series bucket after another, so the two agree by construction (a test checks it).

Semantics, as Prometheus evaluates a rule once per evaluation interval (here: one bucket):
- a bucket's *terms* (``rule_terms``) are what the rule counts in it: a numerator and a
  denominator (served answers and ended requests for a success ratio; requests slower than the
  threshold and served requests for a percentile; arrivals for a rate...). A monitor sees HTTP
  codes: every served answer (right, silently wrong, a fallback) counts as a success;
- at each bucket end from the warm-up on, the terms are summed over the trailing ``window_s``
  (the buckets before the warm-up fill the window); a window with no request ended has no data
  and never satisfies a ratio's or a percentile's condition;
- the alert is pending while the condition holds and fires once it has held ``for_s``; it
  resolves at the first evaluation where the condition is false.
A percentile condition uses the histogram identity p_q > X  <=>  slow(X) > served - ceil(q * served).

The quality probe samples each bucket's served answers binomially (``sample_share``) and the wrong
ones among the sample hypergeometrically, each from its own stream of the run's seed, one bucket
after another; a bucket's verdicts are known ``detection_delay_s`` after the bucket ends.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.histogram import MIDPOINTS, quantile_from_counts
from sim.engine.random import RandomStreams
from sim.engine.request import SUCCESS_OUTCOMES

QUANTILES = {"latency_p50_s": ("latency", 0.5), "latency_p99_s": ("latency", 0.99), "ttft_p99_s": ("ttft", 0.99)}
"""Percentile metrics: which histogram, which quantile."""
RATE_METRICS = {"goodput_rps": "served", "arrival_rps": "arrivals", "attempt_rps": "attempts"}
"""Rate metrics: the per-bucket count divided by the window's span (they always have data)."""
EPS = 1e-9


@dataclass(frozen=True)
class Buckets:
    """Counts of one or more consecutive buckets (numpy arrays of equal length), as a monitor reads them.

    ``outcomes`` maps an outcome name to its counts; ``hist`` maps 'latency' / 'ttft' to per-bucket
    histogram rows (shape (n, bins)), or is missing a key when the run has none.
    """

    ended: np.ndarray
    arrivals: np.ndarray
    attempts: np.ndarray
    in_flight: np.ndarray
    outcomes: Mapping[str, np.ndarray]
    hist: Mapping[str, np.ndarray]

    def served(self) -> np.ndarray:
        """What a monitor counts as successes: every served answer (an HTTP 200)."""
        out = np.zeros(len(self.ended), dtype=np.int64)
        for outcome in SUCCESS_OUTCOMES:
            counts = self.outcomes.get(outcome)
            if counts is not None:
                out = out + counts
        return out


def rule_terms(rule: Any, b: Buckets) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket, the numerator and denominator the rule sums over its window (see the module docstring).

    For ``in_flight`` the numerator is the instantaneous value (not summed). For a percentile metric
    without histograms both are zero (never fires).
    """
    metric = rule.metric
    zeros = np.zeros(len(b.ended), dtype=np.int64)
    if metric in QUANTILES:
        h = b.hist.get(QUANTILES[metric][0])
        if h is None or not h.size:
            return zeros, zeros
        return h[:, MIDPOINTS > rule.threshold].sum(axis=1), h.sum(axis=1)
    if metric == "success_ratio":
        return b.served(), b.ended
    if metric == "error_ratio":
        if rule.reason:
            bad = b.outcomes.get(rule.reason)
            return (zeros if bad is None else bad), b.ended
        return b.ended - b.served(), b.ended
    if metric in RATE_METRICS:
        which = RATE_METRICS[metric]
        return (b.served() if which == "served" else getattr(b, which)), zeros
    return b.in_flight, zeros


class EpisodeMachine:
    """Pending → firing → resolved, evaluated at bucket ends (the Prometheus ``for`` clause)."""

    def __init__(self, name: str, for_s: float):
        self.name = name
        self.for_s = for_s
        self.pending_since: float | None = None
        self.firing: dict[str, Any] | None = None
        self.episodes: list[dict[str, Any]] = []

    def step(self, t_s: float, cond: bool, value: Callable[[], float | None]) -> str | None:
        """One evaluation at ``t_s``; returns 'fired', 'resolved' or None."""
        if cond:
            if self.pending_since is None:
                self.pending_since = t_s
            if self.firing is None and t_s - self.pending_since >= self.for_s - EPS:
                v = value()
                self.firing = {"alert": self.name, "pending_s": self.pending_since, "fired_s": t_s,
                               "resolved_s": None, "value": None if v is None or math.isnan(v) else float(v)}
                self.episodes.append(self.firing)
                return "fired"
            return None
        self.pending_since = None
        if self.firing is not None:
            self.firing["resolved_s"] = t_s
            self.firing = None
            return "resolved"
        return None


class Window:
    """Trailing sums over the last ``w`` buckets of a few integer terms."""

    def __init__(self, w: int, width: int):
        self.w = w
        self.items: deque[tuple[int, ...]] = deque()
        self.sums = [0] * width

    def push(self, values: tuple[int, ...]) -> None:
        self.items.append(values)
        for k, v in enumerate(values):
            self.sums[k] += v
        if len(self.items) > self.w:
            old = self.items.popleft()
            for k, v in enumerate(old):
                self.sums[k] -= v


def window_buckets(window_s: float, bucket_s: float) -> int:
    return max(1, int(round(window_s / bucket_s)))


class RuleState:
    """One alert rule, fed one completed bucket at a time (``step``), from the first bucket of the run."""

    def __init__(self, rule: Any, bucket_s: float, warmup_s: float, duration_s: float):
        self.rule = rule
        self.bucket_s = bucket_s
        self.duration_s = duration_s
        self.w = window_buckets(rule.window_s, bucket_s)
        self.span_s = self.w * bucket_s
        self.first_evaluated = measured_from(bucket_s, warmup_s)
        self.window = Window(self.w, 2)
        self.quantile = QUANTILES.get(rule.metric)
        self.rows: deque[np.ndarray] = deque(maxlen=self.w)
        self.machine = EpisodeMachine(rule.name, rule.for_s)

    @property
    def episodes(self) -> list[dict[str, Any]]:
        return self.machine.episodes

    def step(self, i: int, num: int, den: int, hist_row: np.ndarray | None = None) -> str | None:
        """Bucket ``i`` is complete with these terms (and, for a percentile rule, its histogram row)."""
        self.window.push((num, den))
        if self.quantile is not None and hist_row is not None:
            self.rows.append(hist_row)
        if i < self.first_evaluated:
            return None
        cond, value = self._condition(num)
        t_s = min((i + 1) * self.bucket_s, self.duration_s)
        return self.machine.step(t_s, cond, value)

    def _condition(self, num_now: int) -> tuple[bool, Callable[[], float | None]]:
        rule = self.rule
        num_w, den_w = self.window.sums
        if self.quantile is not None:
            q = self.quantile[1]
            above = den_w > 0 and num_w > den_w - math.ceil(q * den_w)
            below = den_w > 0 and not above
            return (above if rule.op == "above" else below), self._window_quantile
        if rule.metric in ("success_ratio", "error_ratio"):
            if den_w == 0:
                return False, lambda: None
            value = num_w / den_w
        elif rule.metric in RATE_METRICS:
            value = num_w / self.span_s
        else:  # in_flight: the value now
            value = float(num_now)
        cond = value > rule.threshold if rule.op == "above" else value < rule.threshold
        return cond, lambda: value

    def _window_quantile(self) -> float | None:
        if not self.rows:
            return None
        v = float(quantile_from_counts(np.sum(list(self.rows), axis=0), self.quantile[1]))
        return None if math.isnan(v) else v


def measured_from(bucket_s: float, warmup_s: float) -> int:
    """First bucket that starts at or after the warm-up (the first one evaluated)."""
    i = 0
    while i * bucket_s < warmup_s - EPS:  # as the analysis' searchsorted over the bucket start times
        i += 1
    return i


def evaluate_rule(rule: Any, b: Buckets, bucket_s: float, warmup_s: float, duration_s: float) -> list[dict[str, Any]]:
    """Firing episodes of one rule over a whole run's buckets (what the post-run analysis reports)."""
    state = RuleState(rule, bucket_s, warmup_s, duration_s)
    num, den = rule_terms(rule, b)
    rows = b.hist.get(state.quantile[0]) if state.quantile is not None else None
    num_l, den_l = num.tolist(), den.tolist()
    for i in range(len(num_l)):
        state.step(i, num_l[i], den_l[i], None if rows is None or not rows.size else rows[i])
    return state.episodes


def probe_streams(probe: Any, seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The probe's two streams: which answers are sampled, and which of the sampled are wrong."""
    streams = RandomStreams(seed)
    return streams.get(probe.name, "quality-probe"), streams.get(probe.name, "quality-probe-verdicts")


class ProbeState:
    """The quality probe, fed one completed bucket at a time: samples, delayed verdicts, trailing share."""

    def __init__(self, probe: Any, seed: int, bucket_s: float, warmup_s: float, duration_s: float):
        self.probe = probe
        self.bucket_s = bucket_s
        self.duration_s = duration_s
        self.sample_rng, self.verdict_rng = probe_streams(probe, seed)
        self.delay = probe_delay_buckets(bucket_s, probe.detection_delay_s)
        self.waiting: deque[tuple[int, int]] = deque()
        self.window = Window(window_buckets(probe.window_s, bucket_s), 2)
        self.first_evaluated = measured_from(bucket_s, warmup_s)
        self.machine = EpisodeMachine(probe.name, probe.for_s)
        self.last_n = 0

    @property
    def episodes(self) -> list[dict[str, Any]]:
        return self.machine.episodes

    def sample(self, served: int, wrong: int) -> tuple[int, int]:
        """Draw one bucket's sample: answers evaluated, and the wrong ones among them."""
        sampled = int(self.sample_rng.binomial(served, self.probe.sample_share))
        bad = int(self.verdict_rng.hypergeometric(wrong, served - wrong, sampled)) if sampled > 0 else 0
        return sampled, bad

    def step(self, i: int, served: int, wrong: int, drawn: tuple[int, int] | None = None) -> str | None:
        """Bucket ``i`` is complete (``drawn``: its sample, when drawn beforehand in one go)."""
        self.waiting.append(drawn if drawn is not None else self.sample(served, wrong))
        known = self.waiting.popleft() if len(self.waiting) > self.delay else (0, 0)
        self.window.push(known)
        if i < self.first_evaluated:
            return None
        n, k = self.window.sums
        self.last_n = n
        enough = n >= self.probe.min_samples
        share = k / max(n, 1) if enough else math.nan
        t_s = min((i + 1) * self.bucket_s, self.duration_s)
        return self.machine.step(t_s, enough and share > self.probe.threshold, lambda: share)


def probe_delay_buckets(bucket_s: float, detection_delay_s: float) -> int:
    """Buckets between an answer's bucket and the first evaluation that knows its verdict."""
    return max(0, math.ceil(detection_delay_s / bucket_s - EPS))


def evaluate_probe(probe: Any, seed: int, b: Buckets, bucket_s: float, warmup_s: float,
                   duration_s: float) -> tuple[list[dict[str, Any]], list[int]]:
    """Firing episodes of the quality probe over a whole run, and the verdicts in its window at each firing."""
    state = ProbeState(probe, seed, bucket_s, warmup_s, duration_s)
    served = b.served()
    wrong = b.outcomes.get("wrong_answer", np.zeros(len(served), dtype=np.int64))
    sampled = state.sample_rng.binomial(served, probe.sample_share)
    bad = np.zeros(len(served), dtype=np.int64)
    has = sampled > 0
    if has.any():
        bad[has] = state.verdict_rng.hypergeometric(wrong[has], served[has] - wrong[has], sampled[has])
    counts = []
    for i, (s, k) in enumerate(zip(sampled.tolist(), bad.tolist(), strict=True)):
        if state.step(i, 0, 0, (s, k)) == "fired":
            counts.append(state.last_n)
    return state.episodes, counts
