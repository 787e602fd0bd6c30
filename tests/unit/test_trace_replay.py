"""Seeded variation of trace replay (start offset, Poisson resampling), failed rows, and validate's warnings."""

from __future__ import annotations

import numpy as np
import pytest

from sim import parse_scenario, run
from sim.engine.random import RandomStreams
from sim.engine.traces import load_trace, replay_trace, trace_of
from sim.engine.traces.checks import trace_warnings
from sim.engine.traces.replay import resample_poisson, rotate
from sim.spec.workload import TraceArrivals
from tests.unit.test_components import client, pool, scenario


def _arrival(**over) -> TraceArrivals:
    return TraceArrivals(kind="trace", path="builtin:azure_code", **over)


def _rows(trace) -> list[tuple[int, int]]:
    return sorted(zip(trace.prompt_tokens.tolist(), trace.output_tokens.tolist(), strict=True))


def test_default_replay_draws_nothing_and_is_the_trace_as_recorded():
    arrival = _arrival()
    assert replay_trace(arrival, RandomStreams(1), "c") is trace_of(arrival)
    assert replay_trace(arrival, RandomStreams(2), "c") is trace_of(arrival)


def test_rotation_wraps_around_the_period_keeping_every_row_once():
    trace = load_trace("builtin:azure_code")
    start = 0.37 * trace.period_s
    rotated = rotate(trace, start)
    assert _rows(rotated) == _rows(trace)
    assert rotated.period_s == trace.period_s
    assert np.all(np.diff(rotated.offsets_s) >= 0) and rotated.offsets_s[-1] < trace.period_s
    # the row that was first at or after the start point now comes first, at its offset minus the start
    first = int(np.searchsorted(trace.offsets_s, start))
    assert rotated.prompt_tokens[0] == trace.prompt_tokens[first]
    assert rotated.offsets_s[0] == pytest.approx(trace.offsets_s[first] - start)
    # every gap between consecutive rows is kept, the wrap-around gap becomes the loop gap
    gaps = np.diff(np.concatenate([trace.offsets_s, [trace.period_s]]))
    rgaps = np.diff(np.concatenate([rotated.offsets_s, [rotated.offsets_s[0] + trace.period_s]]))
    assert sorted(np.round(gaps, 9)) == sorted(np.round(rgaps, 9))


def test_random_start_offset_differs_between_seeds_and_repeats_with_one():
    arrival = _arrival(start_offset="random", loop=True)
    firsts = {float(replay_trace(arrival, RandomStreams(s), "c").offsets_s[0]) for s in range(8)}
    assert len(firsts) == 8
    a = replay_trace(arrival, RandomStreams(3), "c")
    b = replay_trace(arrival, RandomStreams(3), "c")
    assert np.array_equal(a.offsets_s, b.offsets_s) and np.array_equal(a.prompt_tokens, b.prompt_tokens)


def test_poisson_resampling_keeps_counts_per_window_rows_and_order():
    trace = load_trace("builtin:azure_code")
    window = 60.0
    out = resample_poisson(trace, window, np.random.default_rng(5))
    assert np.array_equal(out.prompt_tokens, trace.prompt_tokens)  # same rows, same order
    assert np.array_equal(out.output_tokens, trace.output_tokens)
    edges = np.arange(0, trace.period_s + window, window)
    assert np.array_equal(np.histogram(out.offsets_s, edges)[0], np.histogram(trace.offsets_s, edges)[0])
    assert not np.allclose(out.offsets_s, trace.offsets_s)
    # inside a window the times are uniform: the code trace's bursts (CV 13) become Poisson-like (CV near 1)
    busy = np.histogram(trace.offsets_s, edges)[0].argmax()
    inside = out.offsets_s[(out.offsets_s >= edges[busy]) & (out.offsets_s < edges[busy + 1])]
    gaps = np.diff(inside)
    assert len(inside) > 100 and 0.8 < gaps.std() / gaps.mean() < 1.2


def test_randomness_sources_say_what_a_ci_over_seeds_covers():
    assert _arrival().randomness_sources() == []
    varied = _arrival(start_offset="random", resample="poisson", resample_window_s=30)
    assert varied.randomness_sources() == ["trace start offset (uniform over the replay period)",
                                           "arrival times within 30 s windows (Poisson)"]
    sc = scenario(workload={"clients": [client(arrival={"kind": "trace", "path": "builtin:azure_code"})]})
    assert sc.workload.randomness_sources() == ["c: user of each request (uniform over users)"]
    sc = scenario()
    assert "c: arrival times (poisson)" in sc.workload.randomness_sources()


def test_spec_refuses_inconsistent_trace_options():
    from pydantic import ValidationError

    for bad in ({"format": "azure", "columns": {"time": "t", "prompt_tokens": "p", "output_tokens": "o"}},
                {"from_s": 10, "to_s": 5}, {"start_offset": -1}):
        with pytest.raises(ValidationError):
            _arrival(**bad)


def test_failed_rows_replayed_as_server_errors(tmp_path):
    path = tmp_path / "burst.csv"
    path.write_text("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                    + "".join(f"{i * 0.5},ChatGPT,10,{0 if i % 4 == 0 else 5},1,x\n" for i in range(40)),
                    encoding="utf-8")
    fast = pool(server={"service_time_s": {"kind": "deterministic", "value": 0.01}, "concurrency": 8})
    counts = {}
    for choice in ("skip", "fail"):
        sc = scenario(topology={"pools": [fast]}, run={"duration_s": 30.0},
                      workload={"clients": [client(arrival={"kind": "trace", "path": str(path),
                                                            "failed_rows": choice})]})
        counts[choice] = {k: v for k, v in run(sc, seed=1).summary["accounting"]["outcomes"].items() if v}
    assert counts["skip"] == {"success": 30}
    assert counts["fail"] == {"success": 30, "server_error": 10}


def test_validate_warns_of_prompts_that_never_fit_the_kv_cache():
    sc = parse_scenario({
        "name": "mooncake",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["gpu"]}],
                     "pools": [{"name": "gpu", "replicas": 2, "server": {"mode": "llm"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"],
                                  "arrival": {"kind": "trace", "path": "builtin:mooncake_conv"}}]},
    })
    (line,) = trace_warnings(sc)
    assert line.startswith("workload.clients[0].arrival: 295 of 12031 requests have prompts longer than pool gpu's")


def test_experiment_manifest_says_whether_trace_arrivals_vary():
    from sim.experiment.randomness import randomness_covered

    plain = scenario(workload={"clients": [client(arrival={"kind": "trace", "path": "builtin:azure_code"})]})
    assert any("replayed identically on every seed" in line for line in randomness_covered(plain))
    varied = scenario(workload={"clients": [client(arrival={"kind": "trace", "path": "builtin:azure_code",
                                                            "start_offset": "random", "loop": True})]})
    (line,) = [x for x in randomness_covered(varied) if x.startswith("client c:")]
    assert line == "client c: trace replay varied by the seed (trace start offset (uniform over the replay period))"
