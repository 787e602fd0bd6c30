"""Trace loading: the shipped Azure conversation trace, and clear errors for bad trace files."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sim.engine.traces import BUILTIN_TRACES, TraceError, load_trace, resolve_trace_path

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def test_shipped_trace_loads():
    trace = load_trace("builtin:azure_conv")
    assert len(trace.offsets_s) == len(trace.prompt_tokens) == len(trace.output_tokens) == 19_366
    assert trace.offsets_s[0] == 0.0
    assert np.all(np.diff(trace.offsets_s) >= 0)
    assert 57 * 60 < trace.span_s < 59 * 60
    assert trace.prompt_tokens.min() >= 1 and trace.output_tokens.min() >= 1
    # the workload defaults are fitted to this trace (mean 1155 / 211 tokens)
    assert trace.prompt_tokens.mean() == pytest.approx(1155, rel=0.01)
    assert trace.output_tokens.mean() == pytest.approx(211, rel=0.01)


def test_shipped_trace_has_licence_and_attribution():
    folder = BUILTIN_TRACES["azure_conv"].file.parent
    assert (folder / "LICENSE_CC-BY-4.0.txt").stat().st_size > 1000
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "CC-BY-4.0" in readme and "Azure" in readme


def test_small_trace_sorted_with_subsecond_timestamps(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "2024-01-01 00:00:01.5000000,10,3\n2024-01-01 00:00:00.2500000,0,7\n"
                    "2024-01-01 00:00:03,20,1\n", encoding="utf-8")
    trace = load_trace(str(path))
    assert trace.offsets_s.tolist() == pytest.approx([0.0, 1.25, 2.75])
    assert trace.prompt_tokens.tolist() == [1, 10, 20]  # zero tokens become one
    assert trace.output_tokens.tolist() == [7, 3, 1]


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset (Unix)")
def test_offsets_do_not_depend_on_the_local_time_zone(tmp_path, monkeypatch):
    """A trace spanning a daylight-saving change must not gain or lose an hour on any machine."""
    path = tmp_path / "dst.csv"
    path.write_text(HEADER + "2023-11-05 00:30:00,10,3\n2023-11-05 02:30:00,10,3\n", encoding="utf-8")
    spans = set()
    try:
        for tz in ("UTC", "America/New_York", "Europe/Berlin"):
            monkeypatch.setenv("TZ", tz)
            time.tzset()
            spans.add(load_trace(str(path)).span_s)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert spans == {7200.0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "needs columns"),
        ("a,b,c\n1,2,3\n", "needs columns ContextTokens, GeneratedTokens, TIMESTAMP"),
        (HEADER, "has no rows"),
        (HEADER + "2024-01-01 00:00:00,10,3\nyesterday,10,3\n", "line 3: TIMESTAMP is not a date and time"),
        (HEADER + "2024-01-01 00:00:00,ten,3\n", "line 2 is not a valid trace row"),
        (HEADER + "2024-01-01 00:00:00,10,3\n2024-01-01 00:00:01,10,3\n,10,3\n", "line 4: TIMESTAMP is not a date"),
        (HEADER + "2024-01-01 00:00:00,10\n", "line 2 is not a valid trace row"),
    ],
    ids=["empty", "wrong-columns", "header-only", "bad-time", "bad-tokens", "empty-time", "short-row"],
)
def test_bad_trace_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TraceError) as info:
        load_trace(str(path))
    assert str(info.value).startswith(str(path) + ": ")
    assert message in str(info.value)


def test_missing_unreadable_and_binary_trace(tmp_path):
    with pytest.raises(TraceError, match="no such file"):
        load_trace(str(tmp_path / "none.csv"))
    with pytest.raises(TraceError, match="cannot be read"):
        load_trace(str(tmp_path))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\xfa" * 100)
    with pytest.raises(TraceError, match="cannot be read"):
        load_trace(str(binary))


def test_unknown_builtin():
    with pytest.raises(TraceError, match="unknown built-in trace 'nope'"):
        resolve_trace_path("builtin:nope")
