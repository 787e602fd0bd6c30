"""Seeded variation of a trace replay that keeps the trace's character, so replications differ.

- a start offset: the trace is rotated (wrapped around its replay period) to begin at a point,
  fixed or drawn uniformly from the run's streams; every row is still replayed once per period;
- Poisson resampling: within each window the arrival times are redrawn as a Poisson process
  conditioned on the window's count (uniform times, sorted), rows keep their order and tokens.
  The rate over windows and every request's sizes and prefix blocks are the trace's; only the
  timing inside a window (burstiness shorter than the window) is replaced.
"""

from __future__ import annotations

import numpy as np

from sim.engine.traces.model import Trace


def rotate(trace: Trace, start_s: float) -> Trace:
    """The trace started ``start_s`` seconds in: later rows first, earlier ones one period later."""
    period = trace.period_s
    start_s = float(start_s) % period if period > 0 else 0.0
    if start_s == 0.0:
        return trace
    offsets = trace.offsets_s
    split = int(np.searchsorted(offsets, start_s, side="left"))
    rows = np.concatenate([np.arange(split, len(offsets)), np.arange(split)])
    new = np.concatenate([offsets[split:] - start_s, offsets[:split] - start_s + period])
    return trace.take(rows, offsets_s=new)


def resample_poisson(trace: Trace, window_s: float, rng: np.random.Generator) -> Trace:
    """Arrival times redrawn uniformly inside each window of the period, keeping its count and rows."""
    period = trace.period_s
    offsets = trace.offsets_s
    window = np.minimum(np.floor(offsets / window_s), max(0.0, np.ceil(period / window_s) - 1))
    lo = window * window_s
    hi = np.minimum(lo + window_s, period)
    times = np.sort(lo + rng.random(len(offsets)) * (hi - lo))
    return trace.take(np.arange(len(offsets)), offsets_s=times)
