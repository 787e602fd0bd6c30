"""Requests carry a model (from the trace's model column or a client's mix); balancers route each model
to the pools that serve it; a model nobody serves is one line."""

from __future__ import annotations

import pytest

from sim import parse_scenario, run
from sim.engine.traces.checks import trace_warnings
from sim.spec import ScenarioError

BURST = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"


def _scenario(arrival: dict, mix: dict | None = None, pools: list | None = None, record: bool = True) -> dict:
    fast = {"mode": "llm", "model_load_s": 0.0}
    slow = {**fast, "prefill_per_token_s": 0.001}  # another GPU: a different time coefficient per pool
    client = {"name": "c", "target": ["lb"], "timeout_s": None, "retry": {"max_attempts": 1}, "arrival": arrival}
    if mix is not None:
        client["model_mix"] = mix
    return {
        "name": "models",
        "topology": {
            "load_balancers": [{"name": "lb", "upstream": ["small", "big"], "balancing": {"kind": "round_robin"}}],
            "pools": pools or [{"name": "small", "replicas": 2, "models": ["ChatGPT"], "server": fast},
                               {"name": "big", "replicas": 1, "models": ["GPT-4"], "server": slow}],
        },
        "workload": {"clients": [client]},
        "policies": {"health_check": {"enabled": False}},
        "run": {"duration_s": 120.0, "warmup_s": 0.0},
    }


def _served_by(result) -> dict[str, int]:
    return {name: c["completed"] for name, c in result.summary["components"].items() if c.get("kind") == "server"}


def test_trace_models_go_to_the_pools_that_serve_them(tmp_path):
    path = tmp_path / "b.csv"
    rows = [f"{i},{'GPT-4' if i % 3 == 0 else 'ChatGPT'},100,5,105,x\n" for i in range(60)]
    path.write_text(BURST + "".join(rows), encoding="utf-8")
    result = run(parse_scenario(_scenario({"kind": "trace", "path": str(path)})), seed=1)
    served = _served_by(result)
    assert served["big-0"] == 20 and served["small-0"] + served["small-1"] == 40
    assert result.summary["accounting"]["outcomes"]["success"] == 60
    # the slower GPU's prefill shows: TTFT of GPT-4 requests 100 x 0.001 s, of ChatGPT 100 x 0.00012 s
    assert result.summary["measured"]["ttft_s"]["max"] == pytest.approx(0.015 + 0.1, rel=0.05)


def test_client_mix_draws_models_in_proportion():
    fast = {"mode": "llm", "model_load_s": 0.0}
    pools = [{"name": "small", "replicas": 2, "models": ["ChatGPT"], "server": fast},
             {"name": "big", "replicas": 2, "models": ["GPT-4"], "server": fast}]
    sc = parse_scenario(_scenario({"kind": "poisson", "rate_rps": 5.0}, mix={"ChatGPT": 3, "GPT-4": 1}, pools=pools))
    served = _served_by(run(sc, seed=2))
    big, total = served["big-0"] + served["big-1"], sum(served.values())
    assert total > 400
    share = big / total
    assert abs(share - 0.25) < 4 * (0.25 * 0.75 / total) ** 0.5
    assert "c: model of each request (drawn from model_mix)" in sc.workload.randomness_sources()


def test_a_model_nobody_serves_is_one_line(tmp_path):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_scenario({"kind": "poisson", "rate_rps": 1.0}, mix={"llama": 1}))
    (problem,) = [str(p) for p in info.value.problems]
    assert problem == "workload.clients[0].model_mix.llama: no pool behind lb serves model 'llama'"
    path = tmp_path / "b.csv"
    path.write_text(BURST + "0,ChatGPT,10,5,15,x\n1,Claude,10,5,15,x\n2,Claude,10,5,15,x\n", encoding="utf-8")
    (line,) = trace_warnings(parse_scenario(_scenario({"kind": "trace", "path": str(path)})))
    assert line == ("workload.clients[0].arrival: 2 requests ask for model 'Claude', which no pool behind lb serves "
                    "(they fail: no_healthy_upstream)")


def test_pools_without_models_serve_every_model(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(BURST + "".join(f"{i},M{i % 4},10,5,15,x\n" for i in range(20)), encoding="utf-8")
    pools = [{"name": "small", "replicas": 1, "server": {"mode": "llm", "model_load_s": 0.0}},
             {"name": "big", "replicas": 1, "models": ["M0"], "server": {"mode": "llm", "model_load_s": 0.0}}]
    result = run(parse_scenario(_scenario({"kind": "trace", "path": str(path)}, pools=pools)), seed=1)
    assert result.summary["accounting"]["outcomes"]["success"] == 20
    served = _served_by(result)
    assert served["small-0"] >= 15  # M1..M3 only here; M0 split between both
