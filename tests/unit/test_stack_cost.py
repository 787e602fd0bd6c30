"""What the LLM request path and a fleet's build cost, counted, not timed: network calls per database query,
random streams made per replica, replica memory layout, collector settings while building."""

from __future__ import annotations

import gc

import numpy as np

import sim.experiment.run as run_module
from sim import parse_scenario_text, run
from sim.components.inference_server import LLMServer
from sim.components.network import Network
from sim.engine.random import LazyGenerator, RandomStreams
from sim.experiment.gc_tuning import RUN_THRESHOLDS
from sim.experiment.run import run_with_stack

STACK = """
name: cost
topology:
  zones: [zone-a, zone-b]
  load_balancers: [{{name: lb-1, zone: zone-a, upstream: [gpu]}}]
  pools:
    - {{name: gpu, replicas: {replicas}, zones: [zone-a, zone-b], server: {{mode: llm}}, database: db-1,
       db_calls_per_request: 2}}
  databases: [{{name: db-1, zone: zone-b}}]
workload:
  clients:
    - {{name: users, zone: zone-a, target: [lb-1], arrival: {{kind: poisson, rate_rps: 4}}, timeout_s: 60}}
faults: {faults}
run: {{duration_s: 60, warmup_s: 0, seed: 1, bucket_s: 10}}
"""


def scenario(replicas: int = 4, faults: str = "[]"):
    return parse_scenario_text(STACK.format(replicas=replicas, faults=faults))


def test_a_database_query_costs_one_network_call_when_nothing_is_impaired(monkeypatch):
    counts = {"call_s": 0, "latency_s": 0, "reachable": 0}
    for name in counts:
        original = getattr(Network, name)

        def counted(self, *args, _name=name, _original=original):
            counts[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(Network, name, counted)
    result, stack = run_with_stack(scenario())
    queries = stack.by_name["db-1"].queries
    assert queries > 2 * 100  # two queries per request
    assert counts["call_s"] == queries
    # the readiness checks' first probes, one per replica (4); none per query
    assert counts["latency_s"] <= 4 and counts["reachable"] <= 4
    assert result.summary["measured"]["availability"] > 0.99


def test_a_query_across_a_partition_fails_as_before():
    faults = '[{id: cut, kind: partition, between: [zone-a, zone-b], at_s: 20, duration_s: 20}]'
    result, stack = run_with_stack(scenario(faults=faults))
    assert stack.by_name["db-1"].failures > 0
    assert result.summary["measured"]["outcomes"].get("dependency_error", 0) > 0


def test_replicas_keep_their_fields_in_slots_and_make_no_fault_stream_without_faults(monkeypatch):
    made = []
    original = RandomStreams.get

    def counted(self, component, purpose):
        made.append((component, purpose))
        return original(self, component, purpose)

    monkeypatch.setattr(RandomStreams, "get", counted)
    _, stack = run_with_stack(scenario(replicas=64))
    replicas = [c for c in stack.by_name.values() if isinstance(c, LLMServer)]
    assert len(replicas) == 64
    assert all(not vars(r) for r in replicas)  # every field in a slot: no per-replica dictionary
    assert not [m for m in made if m[1] == "faults" and m[0].startswith("gpu")]


def test_a_fault_coin_made_late_draws_the_stream_it_would_have_drawn():
    streams = RandomStreams(7)
    lazy = streams.lazy("gpu-3", "faults")
    assert isinstance(lazy, LazyGenerator) and not lazy.made
    drawn = lazy.random(5)
    assert lazy.made
    assert np.array_equal(drawn, streams.get("gpu-3", "faults").random(5))
    faults = '[{id: bugs, kind: error_rate, target: {pool: gpu}, at_s: 10, duration_s: 30, error_percent: 50}]'
    result = run(scenario(faults=faults))
    assert result.summary["measured"]["outcomes"].get("server_error", 0) > 0  # the coins were flipped


def test_the_build_runs_under_the_raised_collector_thresholds(monkeypatch):
    seen = []
    original = run_module.build_stack

    def spy(*args, **kwargs):
        seen.append(gc.get_threshold())
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "build_stack", spy)
    before = gc.get_threshold()
    run(scenario())
    assert seen == [RUN_THRESHOLDS]
    assert gc.get_threshold() == before


def test_the_network_says_in_one_attribute_whether_anything_is_impaired():
    from sim.components.network import Loss
    from sim.spec.topology import NetworkSpec

    network = Network(NetworkSpec(), ["a", "b"])
    assert network.unimpaired and network.hop_s("a", "b") == network.one_way_s[("a", "b")]
    impairments = {"slow": lambda: network.impair("slow", ["a"], added_s=0.05),
                   "lossy": lambda: network.impair("lossy", ["a", "b"], loss=Loss(0.1, 0.2, 3, 0.5)),
                   "zones": lambda: network.partition("zones", "a", "b", components=False),
                   "pair": lambda: network.partition("pair", "x", "y", components=True)}
    for fault_id, impair in impairments.items():
        impair()
        assert not network.unimpaired
        network.clear(fault_id)
        assert network.unimpaired
    for impair in impairments.values():
        impair()
    for fault_id in impairments:
        assert not network.unimpaired  # one fault's end leaves the others' impairments
        network.clear(fault_id)
    assert network.unimpaired
