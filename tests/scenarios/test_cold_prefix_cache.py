"""A crash empties the prefix caches it hits: the fleet's hit rate falls and TTFT rises (cold cache).

Same scenario and seed with and without the crash (common random numbers), so the difference is the
crash. Nothing is scripted: the cost comes from conversations moving to replicas that never cached
them, and returning to replicas that forgot them.
"""

from __future__ import annotations

from pathlib import Path

from sim import load_scenario, run

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "traces" / "mooncake_cold_cache.yaml"


def _figures(summary) -> tuple[float, float, int]:
    caches = [c["prefix_cache"] for c in summary["components"].values() if "prefix_cache" in c]
    hit = sum(c["hit_blocks"] for c in caches) / sum(c["looked_up_blocks"] for c in caches)
    return hit, summary["measured"]["ttft_s"]["mean"], sum(c["emptied"] for c in caches)


def test_a_crash_costs_cache_hits_and_ttft():
    scenario = load_scenario(str(SCENARIO))
    calm = scenario.model_copy(update={"faults": []})
    crash_hit, crash_ttft, emptied = _figures(run(scenario).summary)
    calm_hit, calm_ttft, calm_emptied = _figures(run(calm).summary)
    print(f"\nhit rate {calm_hit:.3f} -> {crash_hit:.3f}, mean TTFT {calm_ttft:.2f} -> {crash_ttft:.2f} s")
    assert (emptied, calm_emptied) == (2, 0)
    assert crash_hit < calm_hit - 0.005
    assert crash_ttft > calm_ttft
