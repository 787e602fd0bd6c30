"""A trace arrival spec turned into the trace a client replays: loaded once, then varied per seed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sim.engine.random import RandomStreams
from sim.engine.traces.formats import TraceFormat
from sim.engine.traces.load import load_trace, resolve_trace_path
from sim.engine.traces.model import Trace, TraceError
from sim.engine.traces.replay import resample_poisson, rotate
from sim.spec.workload import TraceArrivals


def _format(arrival: TraceArrivals) -> str | TraceFormat | None:
    if arrival.columns is None:
        return arrival.format
    c = arrival.columns
    return TraceFormat(
        c.time, c.prompt_tokens, c.output_tokens, time_unit=c.time_unit, model=c.model, session=c.session,
        block_ids=c.block_ids, block_tokens=c.block_tokens, failed_if_output_zero=c.failed_if_output_zero,
    )


@lru_cache(maxsize=8)
def _cached(path: str, stamp: tuple[int, int], fmt, model, from_s, to_s, failed_rows) -> Trace:
    return load_trace(path, fmt, model=model, from_s=from_s, to_s=to_s, failed_rows=failed_rows)


def trace_of(arrival: TraceArrivals) -> Trace:
    """The trace as the spec selects it (format, filters, failed rows), before any seeded variation.

    Loaded traces are cached by file, modification time and selection, so many runs of one
    scenario in a process read the file once. A looped trace with a zero replay period is refused.
    """
    file = resolve_trace_path(arrival.path) if arrival.path.startswith("builtin:") else Path(arrival.path)
    try:
        info = file.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (0, 0)
    trace = _cached(arrival.path, stamp, _format(arrival), arrival.model, arrival.from_s, arrival.to_s,
                    arrival.failed_rows)
    if arrival.loop and trace.span_s == 0.0 and len(trace) > 1:
        raise TraceError(
            f"{arrival.path}: loop needs a replay period above zero (all {len(trace)} requests at the same time)"
        )
    return trace


def replay_trace(arrival: TraceArrivals, streams: RandomStreams, client: str) -> Trace:
    """The trace this client replays in this run: resampled and rotated as the spec asks.

    Each variation draws from its own stream (client, purpose), so enabling one does not change
    another's draws, and the default (no variation) draws nothing: same seed, same bytes as before.
    """
    trace = trace_of(arrival)
    if arrival.resample == "poisson":
        trace = resample_poisson(trace, arrival.resample_window_s, streams.get(client, "trace_resample"))
    if arrival.start_offset == "random":
        trace = rotate(trace, float(streams.get(client, "trace_start_offset").random()) * trace.period_s)
    elif arrival.start_offset:
        trace = rotate(trace, float(arrival.start_offset))
    return trace
