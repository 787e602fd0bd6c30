"""The cascade of an overload is as complete as the cascade of a crash: on the shipped scenarios, every
load-caused change names what pushed it, and the cascade's root, reach and depth follow the mechanism.

One run per scenario (module-scoped). The assertions are about who pushed whom, not about times, so
they stay true while the replays gain clock anchors, responses and recovery.
"""

from __future__ import annotations

import re

import pytest

from sim.analysis import analyze_full
from sim.analysis.cascade import analyze_cascade, cascade_graph
from sim.experiment.run import run
from sim.spec.loader import load_scenario

DEVDAY = "scenarios/incidents/openai-2023-11-08-devday.yaml"
HERD = "scenarios/incidents/openai-2024-08-16-restart-herd.yaml"
STORM = "scenarios/teaching/retry-storm-no-budget.yaml"


def _run(path: str, duration_s: float | None = None):
    scenario = load_scenario(path)
    if duration_s is not None and duration_s < scenario.run.duration_s:
        scenario = scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": duration_s})})
    return run(scenario)


@pytest.fixture(scope="module")
def devday():
    """The surge and the first waves of OOM kills (the rest of the replay is the response to them)."""
    result = _run(DEVDAY, 1800)
    return result, analyze_full(result)[0]


@pytest.fixture(scope="module")
def herd():
    result = _run(HERD, 1500)
    return result, analyze_full(result)[0]


@pytest.fixture(scope="module")
def storm():
    result = _run(STORM)
    return result, analyze_full(result)[0]


def _pool(result, pool: str) -> set[str]:
    return {n for n, d in result.graph.nodes(data=True) if d.get("pool") == pool}


def test_devday_surge_roots_the_routing_pools_overload(devday):
    result, a = devday
    c = a["cascade"]
    assert not c["empty"], c["summary"]
    assert "devday-traffic" in [r["fault"] for r in c["roots"]]
    routing = _pool(result, "routing")
    # the surge pushed routing nodes directly, and the cascade named most of the pool
    g = cascade_graph(result.transitions, result.fault_log)
    pushed = {g.nodes[n]["component"] for n in g.successors("fault:devday-traffic")}
    assert pushed and pushed <= routing
    assert len(set(c["components"]) & routing) >= len(routing) // 2
    assert "edge" in c["components"]  # ejections of nodes failing readiness on memory
    assert c["depth"] >= 2


def test_devday_oom_kills_name_what_pushed_them(devday):
    result, _ = devday
    g = cascade_graph(result.transitions, result.fault_log)
    ooms = [t for t in result.transitions if t.cause.mechanism == "oom"]
    assert ooms, "the replay's premise: routing nodes are OOM-killed"
    for t in ooms:
        assert t.cause.parents or t.cause.loads, t.cause.text()
        assert t.id in g, f"OOM kill of {t.component} at {t.t_s:g} s is not in the cascade"
    # readiness failing on memory is a load-caused overload that names the surge or load shifted from peers
    pressure = [t for t in result.transitions if t.cause.mechanism == "memory_pressure" and t.state == "overloaded"]
    assert pressure
    assert all(t.cause.parents or any(x.kind == "fault" for x in t.cause.loads) for t in pressure)
    assert any(x.kind == "fault" and x.source == "devday-traffic" for t in pressure for x in t.cause.loads)


def test_devday_verdict_and_cascade_agree(devday):
    _, a = devday
    assert a["verdict"] == "deviated"
    assert not a["cascade"]["empty"]
    assert "no cascade" not in a["cascade"]["summary"]


def test_restart_herd_store_overload_names_the_restarting_callers(herd):
    result, a = herd
    by_id = {t.id: t for t in result.transitions}
    services = _pool(result, "services")
    over = [t for t in result.transitions if t.component == "persistence" and t.state == "overloaded"]
    assert over
    for t in over:
        assert t.cause.parents, t.cause.text()
        callers = [by_id[p] for p in t.cause.parents]
        assert {p.component for p in callers} <= services
    # the first saturation: replicas restarting after the outage, their start-up queries waiting
    first = [by_id[p] for p in over[0].cause.parents]
    assert sum(p.state == "starting" for p in first) > len(first) / 2
    c = a["cascade"]
    assert "persistence" in c["components"]
    rows = [r for r in c["table"] if r["component"] == "persistence" and r["state"] == "overloaded"]
    assert rows and all(r["generation"] >= 2 for r in rows)  # outage → restart → store overloaded


def test_retry_storm_names_the_retries_and_their_amplification(storm):
    result, a = storm
    c = a["cascade"]
    assert c["depth"] >= 2
    api = _pool(result, "api")
    assert set(c["components"]) >= api  # every replica: the crashed two and the survivors
    crash = {t.id for t in result.transitions if t.cause.kind == "fault"}
    over = [t for t in result.transitions if t.state == "overloaded"]
    assert over
    for t in over:
        retries = [x for x in t.cause.loads if x.kind == "retries" and x.source == "users"]
        assert retries, t.cause.text()
        amp = float(re.match(r"([\d.]+) attempts per request", retries[0].detail).group(1))
        assert amp > 1.5  # three attempts without a budget: well above one per request
        assert crash & set(retries[0].parents)  # the retries of the crash's failures
    rows = [r for r in c["table"] if r["state"] == "overloaded"]
    assert rows and all(r["generation"] >= 2 for r in rows)
    assert any("users retries" in by for r in rows for by in r["pushed_by"])


def test_a_run_without_retries_names_no_retry_load():
    data = load_scenario(STORM).model_dump(mode="json")
    data["policies"]["retry"] = {"max_attempts": 1}
    from sim.spec import parse_scenario

    result = run(parse_scenario(data))
    assert not any(x.kind == "retries" for t in result.transitions for x in t.cause.loads)
    analyze_cascade(result)


@pytest.fixture(scope="module")
def demo():
    result = _run("builtin:demo", 600)
    return result, analyze_full(result)[0]


def test_demo_survivors_that_breached_their_ttft_share_count_as_affected(demo):
    result, a = demo
    c = a["cascade"]
    gpu = _pool(result, "gpu")
    survivors = gpu - set(c["direct_victims"])
    breached = {b["component"]: b["why"] for b in c["slo_breaches"]}
    hit = survivors & set(breached)
    assert hit, "the survivors took the crashed replicas' users: their TTFT should breach the SLO"
    assert hit <= set(c["components"]) and not hit & set(c["changed_state"])
    assert all("p99 TTFT" in breached[s] for s in hit)
    # each judged against its own requests: the p99 it reports is above the scenario's bound
    bound = result.scenario.slo.p99_ttft_s
    rows = result.summary["measured"]["since_first_fault"]["by_server"]
    assert all(rows[s]["p99_ttft_s"] > bound for s in hit)
    assert c["blast_radius"]["components"] == len(c["components"]) > len(c["changed_state"])
    assert "breached their own share of the SLO" in c["summary"]


@pytest.mark.parametrize("name", ["devday", "herd", "storm", "demo"])
def test_verdicts_and_cascade_agree(name, request):
    result, a = request.getfixturevalue(name)
    c, meta = a["cascade"], a["metastability"]
    deviated_after_trigger = any(f["phase"] in ("during", "after") for f in a["steady_state"]["failures"])
    if deviated_after_trigger:  # a deviation the triggers caused has a cascade that reached someone
        assert not c["empty"] and c["components"], c["summary"]
        assert "no cascade" not in c["summary"]
    if meta["verdict"] == "stuck":  # what keeps it stuck is what the cascade says is still impaired
        held = {h["component"] for h in meta["sustained_by"]}
        assert c["still_impaired"] and set(c["still_impaired"]) <= held
        assert "still impaired at the end" in meta["text"]


def test_the_retry_storm_is_stuck_sustained_by_its_retries(storm):
    _, a = storm
    meta = a["metastability"]
    assert meta["verdict"] == "stuck"
    assert any(load.startswith("retries of users") for h in meta["sustained_by"] for load in h["loads"])


def test_an_overloaded_control_plane_names_the_fault_and_the_retries_that_load_it():
    """Card 8: the telemetry change's calls push the control plane over (the fault is named as its load);
    later its own retried calls are named with their amplification, with the control plane's earlier
    impairing transition (the failures they retry) as parents."""
    result = _run("scenarios/incidents/openai-2024-12-11-control-plane-dns.yaml")
    cp = [t for t in result.transitions if t.component == "control-plane" and t.cause.mechanism == "capacity"
          and t.state != "healthy"]
    assert cp and all(any(ld.kind == "fault" and ld.source == "telemetry-rollout" for ld in t.cause.loads)
                      for t in cp)
    retried = [ld for t in cp for ld in t.cause.loads if ld.kind == "retries"]
    assert retried and all(ld.parents for ld in retried)
    amplification = [float(m) for ld in retried for m in re.findall(r"\(([\d.]+) calls per call\)", ld.detail)]
    assert amplification and min(amplification) > 1.1
