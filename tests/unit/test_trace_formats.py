"""Trace formats beyond Azure: Mooncake JSONL, BurstGPT CSV, the general column mapping, and bad traces.

Loading is vectorised (pyarrow); a pure-Python reference parse of the same generated file checks it.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from sim.engine.traces import BUILTIN_TRACES, TraceError, TraceFormat, load_trace, trace_of
from sim.engine.traces import read as trace_read
from sim.spec.workload import TraceArrivals

BURST_HEADER = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shipped_mooncake_trace_matches_its_description():
    trace = load_trace("builtin:mooncake_conv")
    assert len(trace) == 12_031
    assert 58 * 60 < trace.span_s < 60 * 60
    assert trace.prompt_tokens.mean() == pytest.approx(12_035, rel=0.001)
    assert trace.prompt_tokens.max() == 126_195
    assert trace.output_tokens.mean() == pytest.approx(343, rel=0.01)
    # each prompt's blocks cover it in 512-token blocks; 37 % of all blocks repeat an earlier one
    lengths = np.diff(trace.block_starts)
    assert np.array_equal(lengths, np.ceil(trace.prompt_tokens / 512).astype(np.int64))
    repeated = 1 - len(np.unique(trace.block_ids)) / len(trace.block_ids)
    assert repeated == pytest.approx(0.37, abs=0.01)
    assert (trace.prompt_tokens + 1 > 60_000).sum() == 295  # never fit the default KV cache


def test_shipped_azure_code_trace_and_licences():
    trace = load_trace("builtin:azure_code")
    assert len(trace) == 8_819
    assert np.median(trace.output_tokens) == 13
    readme = (BUILTIN_TRACES["mooncake_conv"].file.parent / "README.md").read_text(encoding="utf-8")
    assert "Apache" in readme and "Mooncake" in readme and "azure_code" in readme
    assert (BUILTIN_TRACES["mooncake_conv"].file.parent / "LICENSE_APACHE-2.0.txt").stat().st_size > 10_000


def test_mooncake_jsonl_by_guess_and_by_format(tmp_path):
    rows = [{"timestamp": 1500, "input_length": 700, "output_length": 5, "hash_ids": [0, 1]},
            {"timestamp": 0, "input_length": 100, "output_length": 0, "hash_ids": [0]}]
    path = _write(tmp_path, "m.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    for fmt in (None, "mooncake"):
        trace = load_trace(path, fmt)
        assert trace.offsets_s.tolist() == [0.0, 1.5]  # ms, sorted
        assert trace.prompt_tokens.tolist() == [100, 700]
        assert trace.output_tokens.tolist() == [1, 5]  # zero output is read as one (no failure marker)
        assert trace.blocks_of(0).tolist() == [0] and trace.blocks_of(1).tolist() == [0, 1]


def test_burstgpt_failed_rows_skipped_or_replayed_and_models_filtered(tmp_path):
    path = _write(tmp_path, "b.csv", BURST_HEADER + "5,ChatGPT,10,0,10,Conversation log\n"
                  "0,GPT-4,20,7,27,Conversation log\n2.5,ChatGPT,30,9,39,API log\n8,ChatGPT,40,3,43,API log\n")
    skipped = load_trace(path)
    assert skipped.prompt_tokens.tolist() == [20, 30, 40]
    assert any("1 rows record failed requests" in note and "skipped" in note for note in skipped.notes)
    kept = load_trace(path, failed_rows="fail")
    assert kept.prompt_tokens.tolist() == [20, 30, 10, 40]
    assert kept.failed.tolist() == [False, False, True, False]
    chat = load_trace(path, model="ChatGPT", failed_rows="fail")
    assert chat.prompt_tokens.tolist() == [30, 10, 40] and chat.offsets_s.tolist() == [0.0, 2.5, 5.5]
    assert {chat.model_of(i) for i in range(3)} == {"ChatGPT"}
    with pytest.raises(TraceError, match=r"no row has model 'llama' \(models: ChatGPT, GPT-4\)"):
        load_trace(path, model="llama")
    sliced = load_trace(path, from_s=2.0, to_s=6.0)  # seconds after the first request
    assert sliced.prompt_tokens.tolist() == [30] and sliced.offsets_s.tolist() == [0.0]


@pytest.mark.parametrize(("unit", "scale"), [("s", 1.0), ("ms", 1e-3), ("us", 1e-6)])
def test_general_mapping_csv_with_each_time_unit(tmp_path, unit, scale):
    path = _write(tmp_path, "g.csv", "when,user,in,out,blocks\n2000,u1,5,6,1 2 3\n0,u2,7,8,\n1000,u1,9,10,1;4\n")
    fmt = TraceFormat("when", "in", "out", time_unit=unit, session="user", block_ids="blocks")
    trace = load_trace(path, fmt)
    assert trace.offsets_s.tolist() == pytest.approx([0.0, 1000 * scale, 2000 * scale])
    assert trace.prompt_tokens.tolist() == [7, 9, 5]
    assert trace.sessions[1] == trace.sessions[2] != trace.sessions[0]
    assert [trace.blocks_of(i).tolist() for i in range(3)] == [[], [1, 4], [1, 2, 3]]


def test_general_mapping_jsonl_with_date_times(tmp_path):
    lines = ['{"t": "2024-05-01 10:00:01.5", "p": 3, "o": 4}', '{"t": "2024-05-01 10:00:00", "p": 1, "o": 2}']
    path = _write(tmp_path, "g.jsonl", "\n".join(lines) + "\n")
    trace = load_trace(path, TraceFormat("t", "p", "o", time_unit="datetime"))
    assert trace.offsets_s.tolist() == [0.0, 1.5] and trace.prompt_tokens.tolist() == [1, 3]


def _reference_parse(path: str, kind: str) -> tuple[list[float], list[int], list[int], list[list[int]]]:
    """Row by row with the standard library: what the vectorised reader must reproduce."""
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        if kind == "csv":
            for r in csv.DictReader(fh):
                rows.append((float(r["ts_ms"]) / 1000, int(r["prompt"]), int(r["output"]),
                             [int(b) for b in r["blocks"].split()]))
        else:
            for line in fh:
                r = json.loads(line)
                rows.append((r["ts_ms"] / 1000, r["prompt"], r["output"], r["blocks"]))
    rows.sort(key=lambda r: r[0])  # stable, as the loader
    t0 = rows[0][0]
    return ([r[0] - t0 for r in rows], [max(1, r[1]) for r in rows], [max(1, r[2]) for r in rows],
            [r[3] for r in rows])


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_vectorised_load_of_100k_rows_equals_a_reference_parse(tmp_path, kind):
    rng = np.random.default_rng(7)
    n = 100_000
    ts = rng.integers(0, 3_600_000, n)  # unsorted, with ties
    prompt = rng.integers(0, 20_000, n)
    output = rng.integers(0, 2_000, n)
    nblocks = rng.integers(0, 6, n)
    path = tmp_path / f"big.{kind}"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if kind == "csv":
            fh.write("ts_ms,prompt,output,blocks,extra\n")
            for i in range(n):
                blocks = " ".join(str(b) for b in range(i, i + nblocks[i]))
                fh.write(f"{ts[i]},{prompt[i]},{output[i]},{blocks},x{i}\n")
        else:
            for i in range(n):
                fh.write(json.dumps({"ts_ms": int(ts[i]), "prompt": int(prompt[i]), "output": int(output[i]),
                                     "blocks": list(range(i, i + int(nblocks[i]))), "extra": "x"}) + "\n")
    fmt = TraceFormat("ts_ms", "prompt", "output", time_unit="ms", block_ids="blocks")
    trace = load_trace(str(path), fmt)
    ref_t, ref_p, ref_o, ref_b = _reference_parse(str(path), kind)
    assert np.allclose(trace.offsets_s, ref_t, rtol=0, atol=1e-9)
    assert trace.prompt_tokens.tolist() == ref_p
    assert trace.output_tokens.tolist() == ref_o
    assert [trace.blocks_of(i).tolist() for i in range(0, n, 997)] == ref_b[::997]
    assert len(trace.block_ids) == sum(len(b) for b in ref_b)


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        ("missing.csv", "Timestamp,Model,Request tokens\n1,a,2\n", "burstgpt",
         "needs columns Model, Request tokens, Response tokens, Timestamp; missing Response tokens; "
         "found: Timestamp, Model, Request tokens"),
        ("unknown.csv", "a,b\n1,2\n", None, "found: a, b"),
        ("neg.jsonl", '{"timestamp": 0, "input_length": -3, "output_length": 2, "hash_ids": []}\n', None,
         "line 1: input_length is negative (-3.0)"),
        ("huge.csv", BURST_HEADER + "0,a,99999999999999999999,1,1,x\n", None,
         "line 2: Request tokens is too large (over 1,000,000,000 tokens: overflow)"),
        ("inf.csv", BURST_HEADER + "0,a,1e400,1,1,x\n", None, "line 2: Request tokens is too large"),
        ("frac.csv", BURST_HEADER + "0,a,2.5,1,1,x\n", None, "line 2: Request tokens is not a whole number"),
        ("time.csv", BURST_HEADER + "1e300,a,2,1,1,x\n", None, "line 2: Timestamp value 1e+300 is out of range"),
        ("notnum.jsonl", '{"timestamp": "soon", "input_length": 3, "output_length": 2, "hash_ids": []}\n', None,
         "line 1: timestamp is not a number ('soon')"),
        ("nofield.jsonl", '{"timestamp": 0, "input_length": 3, "output_length": 2, "hash_ids": []}\n'
                          '{"timestamp": 0, "input_length": 3, "hash_ids": []}\n', "mooncake",
         "line 2: no value for output_length"),
        ("ids.jsonl", '{"timestamp": 0, "input_length": 3, "output_length": 2, "hash_ids": ["a"]}\n', None,
         "line 1: hash_ids is not a list of integer ids"),
        ("notjson.jsonl", '{"timestamp": 0, "input_length": 3, "output_length": 2, "hash_ids": []}\n{oops\n',
         "mooncake", "line 2 is not a JSON object"),
    ],
    ids=lambda v: v if isinstance(v, str) and "." in v and len(v) < 20 else None,
)
def test_bad_traces_get_one_clear_line(tmp_path, name, content, fmt, message):
    path = _write(tmp_path, name, content)
    with pytest.raises(TraceError) as info:
        load_trace(path, fmt)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ")
    assert message in text


def test_a_line_longer_than_the_reader_block_is_a_field_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(trace_read, "BLOCK_BYTES", 1 << 20)
    path = _write(tmp_path, "wide.csv", BURST_HEADER + "0,a,2,1,1,x\n" + "1,a,2,1,1," + "x" * (2 << 20) + "\n")
    with pytest.raises(TraceError, match="a line is longer than 1 MiB \\(a field too large\\)"):
        load_trace(path)


def test_looping_a_trace_with_a_zero_period_is_refused_not_a_hang(tmp_path):
    path = _write(tmp_path, "same.csv", BURST_HEADER + "3,a,2,1,3,x\n3,a,4,1,5,x\n")
    once = TraceArrivals(kind="trace", path=path)
    assert len(trace_of(once)) == 2
    with pytest.raises(TraceError, match="loop needs a replay period above zero \\(all 2 requests at the same time\\)"):
        trace_of(TraceArrivals(kind="trace", path=path, loop=True))


def test_ids_of_each_row_follow_the_row_through_sorting(tmp_path):
    rows = [{"timestamp": 30, "input_length": 1, "output_length": 1, "hash_ids": [7, 8, 9]},
            {"timestamp": 10, "input_length": 1, "output_length": 1, "hash_ids": []},
            {"timestamp": 20, "input_length": 1, "output_length": 1, "hash_ids": [5]}]
    trace = load_trace(_write(tmp_path, "o.jsonl", "".join(json.dumps(r) + "\n" for r in rows)))
    assert [trace.blocks_of(i).tolist() for i in range(3)] == [[], [5], [7, 8, 9]]
    assert math.isclose(trace.period_s, 0.02 + 0.01)
