"""Property: with 2-4 overlapping faults of any effect-setting kinds and windows, at every instant each
effect of each replica equals its combining rule over the faults active then, and every request is
accounted for.

The expected value is computed here from the windows alone (which faults are active at t, what each
sets on which replica), so the test knows nothing of how the simulator keeps its sources.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.assembly import build_stack, topology_graph
from sim.components.effects import EFFECTS
from sim.engine.world import World
from sim.faults import schedule_faults
from sim.observe.result import collect
from sim.spec.loader import parse_scenario

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
REPLICAS = ("p-0", "p-1", "p-2")
DURATION_S = 60.0

REFERENCE = {
    "multiply": math.prod,
    "add_cap": lambda vs: min(1.0, sum(vs)),
    "add": sum,
    "minimum": min,
    "count": lambda vs: float(len(vs)),
}
"""The combining rules as the effects module documents them, written out again here (the reference)."""

KINDS: dict[str, Any] = {
    # kind: (fields drawn from an intensity u in (0, 1], {effect: value of those fields})
    "error_rate": lambda u: ({"error_percent": 100 * u}, {"error_share": u}),
    "wrong_answer": lambda u: ({"wrong_percent": 100 * u}, {"wrong_share": u}),
    "latency_inflation": lambda u: ({"slow_factor": 1 + 4 * u}, {"slow_factor": 1 + 4 * u}),
    "thermal_throttle": lambda u: ({"slow_factor": 1 + u}, {"slow_factor": 1 + u}),
    "kv_cache_exhaustion": lambda u: ({"kv_cache_fraction": u / 2}, {"kv_fraction": u / 2}),
    "hang": lambda u: ({}, {"hang": 1.0}),
    "poison_request": lambda u: ({"poison_percent": 10 * u, "restart_delay_s": 1 + u},
                                 {"poison_restart_s": 1 + u}),
    "memory_leak": lambda u: ({"memory_limit_mb": 1e9, "baseline_mb": 0, "leak_mb_per_request": u,
                               "leak_mb_per_s": 2 * u}, {"leak_mb_per_request": u, "leak_mb_per_s": 2 * u}),
}


@st.composite
def fault_sets(draw) -> list[dict[str, Any]]:
    n = draw(st.integers(2, 4))
    palette = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=2, unique=True))
    faults = []  # kinds from a small palette, so that faults of one kind often overlap on one replica
    for i in range(n):
        kind = draw(st.sampled_from(palette))
        u = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0]))
        fields, effects = KINDS[kind](u)
        at_s = draw(st.integers(1, 30))  # whole seconds: the probes (at k/2 + 1/4 s) fall between window edges
        duration_s = float(draw(st.integers(1, min(40, int(DURATION_S) - at_s))))
        targets = draw(st.lists(st.sampled_from(REPLICAS), min_size=1, max_size=3, unique=True))
        target = {"pool": "p"} if len(targets) == 3 else {"name": targets[0]}
        names = list(REPLICAS) if len(targets) == 3 else targets[:1]
        faults.append({"spec": {"id": f"f{i}", "kind": kind, "target": target, "at_s": float(at_s),
                                "duration_s": duration_s, **fields},
                       "effects": effects, "names": names})
    return faults


def expected(faults: list[dict[str, Any]], name: str, effect: str, t: float) -> tuple[float, set[str]]:
    """The rule over the values of the faults active at t that set ``effect`` on replica ``name``."""
    values, sources = [], set()
    for f in faults:
        spec = f["spec"]
        if effect in f["effects"] and name in f["names"] and spec["at_s"] <= t < spec["at_s"] + spec["duration_s"]:
            values.append(f["effects"][effect])
            sources.add(spec["id"])
    rule = EFFECTS[effect].rule
    return (REFERENCE[rule](values) if values else EFFECTS[effect].neutral), sources


@SETTINGS
@given(fault_sets())
def test_each_effect_is_its_rule_over_the_active_faults_at_every_instant(faults):
    data = {
        "name": "composition",
        "topology": {"zones": ["a"], "load_balancers": [{"name": "lb", "upstream": ["p"]}],
                     "pools": [{"name": "p", "replicas": 3, "server": {"mode": "llm", "model_load_s": 1.0}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"], "timeout_s": 5, "retry": {"max_attempts": 2},
                                  "arrival": {"kind": "poisson", "rate_rps": 3}}]},
        "faults": [f["spec"] for f in faults],
        "run": {"duration_s": DURATION_S, "seed": 1, "bucket_s": 5},
    }
    scenario = parse_scenario(data)
    world = World(1, DURATION_S, 5.0, 0.0)
    stack = build_stack(scenario, world)
    schedule_faults(scenario, stack, world)
    mismatches: list[tuple[float, str, str, Any, Any]] = []
    effects = sorted({e for f in faults for e in f["effects"]})

    def check() -> None:
        t = world.now
        for name in REPLICAS:
            fx = stack.by_name[name].effects
            for effect in effects:
                want, sources = expected(faults, name, effect, t)
                got = fx.value(effect)
                same = got == want or (math.isfinite(want) and got == pytest.approx(want))
                if not same or set(fx.sources(effect)) != sources:
                    mismatches.append((t, name, effect, (got, sorted(fx.sources(effect))), (want, sorted(sources))))

    for k in range(int(DURATION_S * 2)):
        world.call_later(k / 2 + 0.25, check)
    world.env.run(until=DURATION_S)
    assert not mismatches, mismatches[:5]
    acc = collect(scenario, 1, world, stack, topology_graph(scenario)).summary["accounting"]
    assert acc["balanced"] and acc["arrivals"] == acc["ended"] + acc["in_flight_at_end"]
