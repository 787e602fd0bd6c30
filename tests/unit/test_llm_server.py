"""The LLM server's epoch-jumping scheduler against a plain iteration-by-iteration reference.

The real ``LLMServer`` jumps from one batch-composition change to the next with closed-form sums.
The reference below is written independently and naively: one loop step per prefill or decode
iteration, the same admission, time-model and preemption rules as the module docstring states.
Both are fed identical arrival streams; per-request TTFT and completion times must agree to 1e-6 s.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import pytest

from sim.components.inference_server import LLMServer
from sim.engine.request import Attempt, Request
from sim.engine.world import World
from sim.spec.topology import LLMServerSpec

TOL_S = 1e-6


@dataclass
class RefReq:
    """One request in the reference model."""

    rid: int
    t_arrival_s: float
    prompt: int
    output: int
    generated: int = 0
    t_first_token_s: float | None = None
    t_done_s: float | None = None
    outcome: str | None = None


def reference(spec: LLMServerSpec, arrivals: list[tuple[float, int, int]],
              changes: tuple[tuple[float, str, float], ...] = ()) -> tuple[list[RefReq], int]:
    """Simulate one LLM server iteration by iteration; returns the requests and the preemption count.

    At each iteration boundary: requests that arrived by then join the waiting queue; waiting
    requests are admitted in FIFO order while the batch has a slot and the KV cache holds
    prompt + generated + 1 more tokens (a request that cannot fit in an empty server is rejected);
    admitted prompts form one prefill iteration that gives each its next token. Without admissions,
    one decode iteration runs, after preempting the youngest running requests (to the head of the
    waiting queue) while the batch holds more than one request and its context would overflow.
    ``changes`` (time, "slow_factor" or "kv_capacity", value), as faults make them: an iteration
    takes the slow factor in effect when it starts; a boundary uses the KV capacity in effect then.
    """

    def setting(name: str, t: float, default: float) -> float:
        value = default
        for at_s, what, new in changes:
            if what == name and at_s <= t:
                value = new
        return value

    def slow(t: float) -> float:
        return setting("slow_factor", t, 1.0)

    reqs = [RefReq(i, t, p, o) for i, (t, p, o) in enumerate(arrivals)]
    pending = deque(sorted(reqs, key=lambda r: r.t_arrival_s))
    waiting: deque[RefReq] = deque()
    running: list[RefReq] = []
    preemptions = 0
    t = 0.0
    after_preemption = False

    def finish(r: RefReq, outcome: str) -> None:
        r.t_done_s = t
        r.outcome = outcome

    while True:
        while pending and pending[0].t_arrival_s <= t:
            waiting.append(pending.popleft())
        if not waiting and not running:
            if not pending:
                break
            t = pending[0].t_arrival_s
            continue
        # admission at this boundary (not right after a preemption: the preempted go next time)
        admitted: list[RefReq] = []
        kv = setting("kv_capacity", t, spec.kv_cache_tokens)
        if not after_preemption:
            used = sum(r.prompt + r.generated for r in running)
            while waiting and len(running) + len(admitted) < spec.max_batch_size:
                r = waiting[0]
                need = r.prompt + r.generated + 1
                if used + need > kv:
                    if not running and not admitted:
                        waiting.popleft()
                        finish(r, "rejected")
                        continue
                    break
                waiting.popleft()
                admitted.append(r)
                used += need
        after_preemption = False
        if admitted:
            tokens = sum(r.prompt + r.generated for r in admitted)
            t += (spec.prefill_base_s + spec.prefill_per_token_s * tokens) * slow(t)
            for r in admitted:
                if r.t_first_token_s is None:
                    r.t_first_token_s = t
                r.generated += 1
                if r.generated >= r.output:
                    finish(r, "success")
                else:
                    running.append(r)
            continue
        if not running:
            continue
        context = sum(r.prompt + r.generated for r in running)
        if len(running) > 1 and context + len(running) > kv:
            youngest = running.pop()
            waiting.appendleft(youngest)
            preemptions += 1
            after_preemption = True
            continue
        b = len(running)
        t += (spec.decode_base_s + spec.decode_per_seq_s * b + spec.decode_per_context_token_s * context) * slow(t)
        still = []
        for r in running:
            r.generated += 1
            if r.generated >= r.output:
                finish(r, "success")
            else:
                still.append(r)
        running = still
    return reqs, preemptions


@dataclass
class Observed:
    t_first_token_s: float | None
    t_done_s: float
    outcome: str


def simulate(spec: LLMServerSpec, arrivals: list[tuple[float, int, int]],
             changes: tuple[tuple[float, str, float], ...] = ()) -> tuple[list[Observed | None], LLMServer]:
    """Feed the arrivals straight to a real LLMServer (no client, LB or network) and record replies."""
    horizon = 1e6
    world = World(seed=1, duration_s=horizon, bucket_s=horizon / 10, warmup_s=0.0)
    server = LLMServer(world, "llm-0", "llm", "zone-a", spec)
    seen: list[Observed | None] = [None] * len(arrivals)

    def reply(att: Attempt, outcome: str) -> None:
        i = att.request.id
        assert seen[i] is None, f"request {i} answered twice"
        seen[i] = Observed(att.t_first_token_s, world.env.now, outcome)

    def arrive(i: int, prompt: int, output: int) -> None:
        now = world.env.now
        req = Request(i, "c", 0, now, prompt, output)
        server.submit(Attempt(req, 1, now, reply))

    for i, (t, prompt, output) in enumerate(arrivals):
        world.call_later(t, arrive, i, prompt, output)
    for at_s, what, value in changes:
        world.call_later(at_s, setattr, server, what, value)  # what a slowdown or KV-exhaustion fault does
    world.env.run(until=horizon)
    return seen, server


def assert_agree(spec: LLMServerSpec, arrivals: list[tuple[float, int, int]],
                 changes: tuple[tuple[float, str, float], ...] = ()) -> tuple[list[RefReq], LLMServer]:
    """Run both models and compare every request's outcome, TTFT and completion time."""
    ref, ref_preemptions = reference(spec, arrivals, changes)
    seen, server = simulate(spec, arrivals, changes)
    for r in ref:
        got = seen[r.rid]
        assert got is not None, f"request {r.rid} never answered by LLMServer"
        assert got.outcome == r.outcome, f"request {r.rid}: outcome {got.outcome} vs reference {r.outcome}"
        assert got.t_done_s == pytest.approx(r.t_done_s, abs=TOL_S), f"request {r.rid}: completion time"
        if r.t_first_token_s is None:
            assert got.t_first_token_s is None
        else:
            assert got.t_first_token_s == pytest.approx(r.t_first_token_s, abs=TOL_S), f"request {r.rid}: TTFT"
    assert server.preemptions == ref_preemptions
    assert server.outstanding == 0 and server.batch == 0 and not server.waiting
    return ref, server


def llm(**kw) -> LLMServerSpec:
    base = dict(mode="llm", model_load_s=0.0, queue_capacity=10_000)
    base.update(kw)
    return LLMServerSpec(**base)


# --------------------------------------------------------------------------------------------------


def test_single_request_closed_form():
    spec = llm()
    prompt, output, t0 = 700, 50, 3.0
    ttft = spec.prefill_base_s + spec.prefill_per_token_s * prompt
    decode = sum(
        spec.decode_base_s + spec.decode_per_seq_s + spec.decode_per_context_token_s * (prompt + 1 + j)
        for j in range(output - 1)
    )
    ref, _ = assert_agree(spec, [(t0, prompt, output)])
    seen, _ = simulate(spec, [(t0, prompt, output)])
    print(f"\nsingle request: TTFT {ttft:.6f} s, end-to-end {ttft + decode:.6f} s")
    assert seen[0].t_first_token_s - t0 == pytest.approx(ttft, abs=1e-9)
    assert seen[0].t_done_s - t0 == pytest.approx(ttft + decode, abs=1e-9)
    assert ref[0].t_done_s - t0 == pytest.approx(ttft + decode, abs=1e-9)


def test_one_output_token_ends_at_prefill():
    spec = llm()
    seen, _ = simulate(spec, [(1.0, 100, 1)])
    assert seen[0].t_done_s == seen[0].t_first_token_s == pytest.approx(
        1.0 + spec.prefill_base_s + spec.prefill_per_token_s * 100
    )
    assert_agree(spec, [(1.0, 100, 1)])


def test_batch_limit_binds():
    spec = llm(max_batch_size=2)
    arrivals = [(0.001 * i, 200 + 10 * i, 20 + 7 * i) for i in range(7)]
    ref, _ = assert_agree(spec, arrivals)
    # the limit really bound: the third request got its first token only after one of the first two ended
    first_end = min(r.t_done_s for r in ref[:2])
    assert ref[2].t_first_token_s > first_end


def test_kv_limit_binds_with_preemption():
    spec = llm(kv_cache_tokens=400, max_batch_size=8)
    arrivals = [(0.0005 * i, 100, 90 - 3 * i) for i in range(4)]
    ref, server = assert_agree(spec, arrivals)
    assert server.preemptions > 0
    assert all(r.outcome == "success" for r in ref)


def test_kv_limit_blocks_admission_without_preemption():
    # prompts fill the cache; the second waits until the first frees its tokens
    spec = llm(kv_cache_tokens=1_000, max_batch_size=8)
    arrivals = [(0.0, 600, 5), (0.01, 600, 5)]
    ref, server = assert_agree(spec, arrivals)
    assert server.preemptions == 0
    assert ref[1].t_first_token_s > ref[0].t_done_s


def test_request_larger_than_kv_cache_is_rejected():
    spec = llm(kv_cache_tokens=500)
    ref, _ = assert_agree(spec, [(0.0, 600, 5), (0.5, 100, 5)])
    assert [r.outcome for r in ref] == ["rejected", "success"]


@pytest.mark.parametrize("per_context", [2e-7, 0.0])
def test_arrivals_during_decode_join_at_next_boundary(per_context):
    spec = llm(decode_per_context_token_s=per_context)
    long = (0.0, 500, 400)  # decodes for about 5 s
    joiners = [(0.5 + 0.37 * k + 0.0013 * k * k, 100 + 50 * k, 30 + 11 * k) for k in range(8)]
    ref, _ = assert_agree(spec, [long, *joiners])
    # a joiner's first token comes one prefill after the first decode boundary at or after its arrival
    for r in ref[1:]:
        wait = r.t_first_token_s - r.t_arrival_s
        prefill = spec.prefill_base_s + spec.prefill_per_token_s * r.prompt
        assert wait >= prefill - 1e-12
        assert wait < prefill + 0.1  # at most one decode iteration (+ a neighbour's prefill) later


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_streams_agree(seed):
    """Poisson arrivals with random sizes at a load where batch and KV limits both bind at times."""
    rng = np.random.default_rng(seed)
    n = 250
    t = np.cumsum(rng.exponential(0.25, n))
    prompts = rng.integers(20, 1500, n)
    outputs = rng.integers(1, 300, n)
    arrivals = [(float(a), int(p), int(o)) for a, p, o in zip(t, prompts, outputs, strict=True)]
    spec = llm(max_batch_size=6, kv_cache_tokens=5_000)
    ref, server = assert_agree(spec, arrivals)
    assert all(r.outcome == "success" for r in ref)
    assert server.preemptions > 0
    print(f"\nseed {seed}: {n} requests, {server.preemptions} preemptions, "
          f"last completion {max(r.t_done_s for r in ref):.3f} s")


@pytest.mark.parametrize("seed", range(10, 40))
def test_random_specs_agree(seed):
    """Random coefficients and limits (including zero coefficients, batch size 1, tiny caches)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 120))
    t = np.cumsum(rng.exponential(rng.uniform(0.01, 0.5), n))
    arrivals = [
        (float(a), int(p), int(o))
        for a, p, o in zip(t, rng.integers(1, 2000, n), rng.integers(1, 400, n), strict=True)
    ]
    spec = llm(
        max_batch_size=int(rng.integers(1, 10)),
        kv_cache_tokens=int(rng.integers(500, 8_000)),
        decode_per_context_token_s=float(rng.choice([0.0, 2e-7, 1e-5])),
        prefill_base_s=float(rng.choice([0.0, 0.015])),
        decode_per_seq_s=float(rng.choice([0.0, 0.0002])),
    )
    assert_agree(spec, arrivals)


def test_crash_loses_everything_and_counts_balance():
    spec = llm(kv_cache_tokens=3_000, max_batch_size=4)
    world = World(seed=1, duration_s=100.0, bucket_s=1.0, warmup_s=0.0)
    server = LLMServer(world, "llm-0", "llm", "zone-a", spec)
    outcomes: list[str] = []

    def arrive(i: int) -> None:
        req = Request(i, "c", 0, world.env.now, 300, 200)
        server.submit(Attempt(req, 1, world.env.now, lambda att, o: outcomes.append(o)))

    for i in range(10):
        world.call_later(0.01 * i, arrive, i)
    from sim.engine.timeline import Cause

    world.call_later(1.0, server.crash, Cause("fault", "f", "crash"), None)
    world.env.run(until=100.0)
    assert len(outcomes) == 10
    assert set(outcomes) == {"server_error"}
    assert server.outstanding == 0 and server.state == "down"


def test_reference_is_not_trivially_equal():
    """The comparison can fail: a different decode coefficient moves completion times."""
    arrivals = [(0.0, 500, 100), (0.2, 300, 50)]
    ref, _ = reference(llm(), arrivals)
    seen, _ = simulate(llm(decode_base_s=0.0121), arrivals)
    assert not math.isclose(seen[0].t_done_s, ref[0].t_done_s, abs_tol=TOL_S)


def test_single_request_is_never_preempted_by_itself():
    """Documented simplification: a lone request runs on past the cache instead of preempting itself."""
    spec = llm(kv_cache_tokens=500)
    ref, server = assert_agree(spec, [(0.0, 400, 300)])
    assert ref[0].outcome == "success" and server.preemptions == 0


def test_through_the_stack_matches_reference():
    """A whole run (client → LB → one replica, no network latency): the recorded TTFT and end times match."""
    from sim import parse_scenario, run

    scenario = parse_scenario({
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["llm"], "health_check": {"enabled": False}}],
            "pools": [{"name": "llm", "replicas": 1,
                       "server": {"mode": "llm", "model_load_s": 0, "max_batch_size": 4, "kv_cache_tokens": 4000}}],
        },
        "workload": {"clients": [{
            "name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1},
            "arrival": {"kind": "poisson", "rate_rps": 3.0, "schedule": [{"at_s": 40, "rate_rps": 0}]},
            "prompt_tokens": {"kind": "uniform", "low": 10, "high": 1200},
            "output_tokens": {"kind": "uniform", "low": 1, "high": 200},
        }]},
        "run": {"duration_s": 60, "bucket_s": 1},
    })
    res = run(scenario, seed=3, record_requests=True)
    assert res.summary["accounting"]["in_flight_at_end"] == 0  # arrivals stop at 40 s; all end by 60 s
    order = np.argsort(res.requests["arrival_s"], kind="stable")
    rq = {k: v[order] for k, v in res.requests.items()}
    assert len(rq["id"]) > 80
    arrivals = [(float(a), int(p), int(o))
                for a, p, o in zip(rq["arrival_s"], rq["prompt_tokens"], rq["output_tokens"], strict=True)]
    ref, _ = reference(scenario.topology.pools[0].server, arrivals)
    for r, ttft, end in zip(ref, rq["ttft_s"], rq["end_s"], strict=True):
        assert r.outcome == "success"
        assert end == pytest.approx(r.t_done_s, abs=TOL_S)
        assert ttft == pytest.approx(r.t_first_token_s - r.t_arrival_s, abs=TOL_S)


def test_waiting_queue_bound_rejects():
    spec = llm(max_batch_size=1, queue_capacity=2)
    seen, server = simulate(spec, [(0.0, 100, 50)] + [(0.001 * (i + 1), 100, 50) for i in range(5)])
    # the first is admitted at once, two wait, three find the queue full
    assert [s.outcome for s in seen] == ["success", "success", "success", "rejected", "rejected", "rejected"]
    assert [s.t_done_s for s in seen[3:]] == pytest.approx([0.003, 0.004, 0.005])  # rejected on arrival


def test_restart_after_crash_serves_like_a_fresh_server():
    """After a crash and a cold start, the scheduler state is clean: later arrivals match the reference."""
    from sim.engine.timeline import Cause

    spec = llm(max_batch_size=3, kv_cache_tokens=3_000, model_load_s=4.0)
    rng = np.random.default_rng(9)
    before = [(0.05 * i, int(rng.integers(50, 900)), int(rng.integers(20, 200))) for i in range(20)]
    restart_s = 2.0 + 1.0 + spec.model_load_s  # crash at 2 s, restart after 1 s, then the model loads
    after = [(restart_s + 0.5 + 0.3 * i, int(rng.integers(50, 900)), int(rng.integers(2, 200))) for i in range(30)]
    horizon = 1e5
    world = World(seed=1, duration_s=horizon, bucket_s=horizon / 10, warmup_s=0.0)
    server = LLMServer(world, "llm-0", "llm", "zone-a", spec)
    seen: dict[int, tuple[float | None, float, str]] = {}

    def arrive(i: int, prompt: int, output: int) -> None:
        req = Request(i, "c", 0, world.env.now, prompt, output)
        server.submit(Attempt(req, 1, world.env.now,
                              lambda att, o: seen.__setitem__(att.request.id, (att.t_first_token_s, world.env.now, o))))

    for i, (t, p, o) in enumerate(before + after):
        world.call_later(t, arrive, i, p, o)
    world.call_later(2.0, server.crash, Cause("fault", "f", "crash"), 1.0)
    world.env.run(until=horizon)
    assert {seen[i][2] for i in range(len(before))} <= {"server_error", "success"}
    assert any(seen[i][2] == "server_error" for i in range(len(before)))
    ref, _ = reference(spec, [(t - restart_s, p, o) for t, p, o in after])
    for k, r in enumerate(ref):
        ttft, done, outcome = seen[len(before) + k]
        assert outcome == r.outcome == "success"
        assert done - restart_s == pytest.approx(r.t_done_s, abs=TOL_S)
        assert ttft - restart_s == pytest.approx(r.t_first_token_s, abs=TOL_S)


def test_slowdown_takes_effect_at_the_next_iteration_boundary():
    """A slow factor set mid-epoch (a throttling fault) applies from the next iteration, not the next
    composition change: one long request decodes for about 5 s, slowed 3x from 1.003 s on."""
    spec = llm()
    ref, _ = assert_agree(spec, [(0.0, 500, 400)],
                          changes=((1.003, "slow_factor", 3.0), (9.0071, "slow_factor", 1.0)))
    plain, _ = reference(spec, [(0.0, 500, 400)])
    assert ref[0].t_done_s > plain[0].t_done_s + 5.0


@pytest.mark.parametrize("seed", [1, 2])
def test_random_slowdowns_agree(seed):
    rng = np.random.default_rng(seed)
    n = 120
    t = np.cumsum(rng.exponential(0.2, n))
    arrivals = [(float(a), int(p), int(o))
                for a, p, o in zip(t, rng.integers(20, 1500, n), rng.integers(1, 300, n), strict=True)]
    slow = [(float(c), "slow_factor", float(f))
            for c, f in zip(rng.uniform(0, t[-1], 8), rng.choice([1.0, 1.5, 3.0], 8), strict=True)]
    kv = [(float(c), "kv_capacity", int(k))
          for c, k in zip(rng.uniform(0, t[-1], 6), rng.choice([1_500, 2_500, 4_000, 8_000], 6), strict=True)]
    _, server = assert_agree(llm(max_batch_size=5, kv_cache_tokens=4_000), arrivals,
                             tuple(sorted(slow + kv)))
    assert server.preemptions > 0


def test_kv_capacity_drop_preempts_at_the_next_boundary():
    """A KV-exhaustion fault mid-epoch: the batch is cut down at the next iteration, not when it next changes."""
    spec = llm(kv_cache_tokens=10_000, max_batch_size=4)
    arrivals = [(0.001 * i, 800, 300) for i in range(4)]
    ref, server = assert_agree(spec, arrivals, changes=((1.2345, "kv_capacity", 2_000),))
    assert server.preemptions >= 2
