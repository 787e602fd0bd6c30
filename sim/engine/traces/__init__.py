"""Request traces: readers for Azure, Mooncake, BurstGPT and any mapped CSV / JSONL, and seeded replay."""

from sim.engine.traces.arrival import replay_trace, trace_of
from sim.engine.traces.formats import BUILTIN_TRACES, FORMATS, TraceFormat
from sim.engine.traces.load import load_trace, resolve_trace_path
from sim.engine.traces.model import Trace, TraceError, replay_period_s

__all__ = [
    "BUILTIN_TRACES", "FORMATS", "Trace", "TraceError", "TraceFormat", "load_trace", "replay_trace",
    "replay_period_s", "resolve_trace_path", "trace_of",
]
