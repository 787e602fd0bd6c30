"""Card 9, OpenAI 2025-06-10: an OS update cuts networking on a share of the GPU nodes; the error share
follows from the share cut and the load (scenarios/incidents/openai-2025-06-10-os-update.yaml).

The fleet has no waiting room, so it is a loss system: the share of requests rejected is Erlang B for
the surviving slots and the offered load (insensitive to the service-time distribution). Each check
compares the run with that formula, within 3 points: blocking comes in bursts (it is correlated over
minutes), so a binomial interval over requests would be too narrow.
"""

from __future__ import annotations

import math

import pytest

from sim import run
from sim.observe.result import RunResult
from sim.spec.loader import with_changes
from sim.spec.scenario import Scenario
from tests.scenarios.replays import incident, replay_fixtures

REPLAY = incident("openai-2025-06-10-os-update.yaml")


def erlang_b(servers: int, offered_erlangs: float) -> float:
    """Blocking probability of an M/G/c/c system (the stable recursion)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_erlangs * b / (k + offered_erlangs * b)
    return b


scenario, replay = replay_fixtures(REPLAY)


def _rejected_share(result: RunResult, from_s: float, to_s: float = math.inf) -> tuple[int, int]:
    ts = result.timeseries
    sel = (ts["t_s"] >= from_s) & (ts["t_s"] + result.scenario.run.bucket_s <= to_s)
    ended = int(ts["ended"][sel].sum())
    return int(ended - ts["outcome_success"][sel].sum()), ended


def _expected(scenario: Scenario, cut_share: float | None = None) -> tuple[float, float]:
    """(Erlang B before, after the update) for the scenario's slots and offered load."""
    pool = scenario.topology.pools[0]
    fault = scenario.faults[0]
    share = fault.target.percent / 100 if cut_share is None else cut_share
    slots = pool.server.concurrency
    survivors = pool.replicas - math.ceil(pool.replicas * share)
    offered = scenario.workload.clients[0].arrival.rate_rps * pool.server.service_time_s.mean
    return erlang_b(pool.replicas * slots, offered), erlang_b(survivors * slots, offered)


def _within(failed: int, n: int, p: float) -> bool:
    return abs(failed / n - p) < 0.03


def test_before_the_update_the_fleet_carries_its_load(scenario, replay):
    before, _ = _expected(scenario)
    failed, n = _rejected_share(replay, scenario.run.warmup_s, scenario.faults[0].at_s)
    assert failed / n < 0.03 and _within(failed, n, before)


def test_the_error_peak_is_erlang_b_of_the_surviving_slots_near_the_published_25_percent(scenario, replay):
    _, after = _expected(scenario)
    reimaging = next(e["t_s"] for e in replay.summary["response"]["log"] if e["event"] == "action starts")
    failed, n = _rejected_share(replay, scenario.faults[0].at_s + 600, reimaging)
    assert 0.18 < failed / n < 0.32  # published: about 25 % (API)
    assert _within(failed, n, after)
    cut = [t for t in replay.transitions if t.cause.kind == "fault" and t.state == "down"]
    assert len(cut) == math.ceil(scenario.topology.pools[0].replicas * scenario.faults[0].target.percent / 100)


def test_sensitivity_fewer_nodes_cut_or_less_load_fewer_errors_as_erlang_b_predicts(scenario, replay):
    short = {"run.duration_s": 7200.0}
    peak = _rejected_share(replay, scenario.faults[0].at_s + 600, short["run.duration_s"])
    fewer = run(with_changes(scenario, {**short, "faults.host-os-update.target.percent": 20}))
    failed, n = _rejected_share(fewer, scenario.faults[0].at_s + 600)
    assert _within(failed, n, _expected(scenario, 0.20)[1])
    lighter = with_changes(scenario, {**short, "workload.clients.api-users.arrival.rate_rps": 1.4})
    failed_l, n_l = _rejected_share(run(lighter), scenario.faults[0].at_s + 600)
    assert _within(failed_l, n_l, _expected(lighter)[1])
    assert failed_l / n_l < failed / n + 0.05 and failed / n < peak[0] / peak[1]


def _back_s(result: RunResult) -> list[float]:
    """When each cut node was re-imaged (its hold released by the re-imaging)."""
    return sorted(t.t_s for t in result.transitions
                  if t.state == "starting" and "re-imag" in t.cause.detail and t.component.startswith("gpu-"))


def test_recovery_is_a_slow_ramp_limited_by_the_re_imaging_throughput(scenario, replay):
    action = scenario.response.actions[0]
    back = _back_s(replay)
    cut = math.ceil(scenario.topology.pools[0].replicas * scenario.faults[0].target.percent / 100)
    assert len(back) == cut
    start = next(e["t_s"] for e in replay.summary["response"]["log"] if e["event"] == "action starts")
    assert 9600 <= start <= 10800  # 02:00 +- 10 min (t = 0 is 23:20): published, re-imaging from 02:00
    gaps = [b - a for a, b in zip([start, *back], back, strict=False)]
    assert gaps == pytest.approx([3600 / action.per_hour] * cut, abs=1.0)  # one node every 3600 / per_hour s
    failed, n = _rejected_share(replay, start - 3600, start)
    peak = failed / n
    assert peak > 0.18  # still at the peak when re-imaging starts
    failed, n = _rejected_share(replay, back[-1] + 600)
    late = failed / n
    assert late < 0.02  # every node back: the fleet carries its load again
    failed, n = _rejected_share(replay, back[1], back[-2])
    assert late < failed / n < 0.8 * peak  # part-way: fewer errors than at the peak, more than at the end


def test_counterfactual_without_re_imaging_no_recovery_and_sensitivity_twice_the_throughput_half_the_time(
        scenario, replay):
    back = _back_s(replay)
    stuck = run(with_changes(scenario, {"response": None, "run.duration_s": back[2]}))
    failed, n = _rejected_share(stuck, back[1], back[2])
    assert failed / n > 0.18  # the nodes stay cut off: errors stay at the peak
    faster = run(with_changes(scenario, {"response.actions.reimage-nodes.per_hour": 1.2,
                                         "run.duration_s": back[3] + 600}))
    start = next(e["t_s"] for e in replay.summary["response"]["log"] if e["event"] == "action starts")
    assert [b - start for b in _back_s(faster)[:4]] == pytest.approx([(b - start) / 2 for b in back[:4]], abs=1.0)
