"""Effects: each declared once with its combining rule; set and cleared by source; parents for blame."""

from __future__ import annotations

import math

import pytest

from sim.components.effects import EFFECTS, RULES, Effects


def test_every_effect_has_a_known_rule_and_its_neutral_value_is_the_rule_over_no_source():
    for effect in EFFECTS.values():
        assert effect.rule in RULES
        fx = Effects([effect.name])
        assert fx[effect.name] == effect.neutral
    for name in EFFECTS:
        rule = EFFECTS[name].rule
        if rule in ("multiply", "add", "add_cap", "count"):
            assert RULES[rule]([]) == EFFECTS[name].neutral
        else:
            assert RULES[rule]([]) == math.inf and EFFECTS[name].neutral in (1.0, math.inf)


@pytest.mark.parametrize(("name", "a", "b", "both"), [
    ("slow_factor", 2.0, 3.0, 6.0),          # multiply
    ("error_share", 0.6, 0.7, 1.0),          # add, capped at 1
    ("wrong_share", 0.1, 0.2, 0.3),
    ("leak_mb_per_s", 1.0, 2.0, 3.0),        # add
    ("kv_fraction", 0.5, 0.25, 0.25),        # minimum
    ("hang", 1.0, 1.0, 2.0),                 # count
])
def test_two_sources_combine_by_the_rule_and_each_end_removes_only_its_own(name, a, b, both):
    fx = Effects([name])
    fx.set("A", name, a)
    fx.set("B", name, b)
    assert fx[name] == pytest.approx(both)
    fx.clear("B")
    assert fx[name] == pytest.approx(a if EFFECTS[name].rule != "count" else 1.0), "B's end leaves A's"
    fx.clear("A")
    assert fx[name] == EFFECTS[name].neutral and fx.neutral()


def test_a_source_replaces_its_own_value_and_changes_are_reported():
    seen: list[tuple[str, float]] = []
    fx = Effects(["slow_factor", "error_share"], lambda n, v: seen.append((n, v)))
    fx.set("ramp", "slow_factor", 1.5)
    fx.set("ramp", "slow_factor", 2.0)
    fx.set("other", "error_share", 0.1)
    fx.clear("ramp")
    fx.clear("nobody")
    assert seen == [("slow_factor", 1.5), ("slow_factor", 2.0), ("error_share", 0.1), ("slow_factor", 1.0)]
    assert fx.active() == {"error_share": {"other": 0.1}}


def test_the_parent_is_the_latest_source_or_the_one_giving_the_minimum():
    fx = Effects(["leak_mb_per_s", "kv_fraction"])
    fx.set("A", "leak_mb_per_s", 1.0, parent=7)
    fx.set("B", "leak_mb_per_s", 1.0, parent=9)
    assert fx.parent("leak_mb_per_s") == 9
    fx.clear("B")
    assert fx.parent("leak_mb_per_s") == 7
    fx.set("A", "kv_fraction", 0.2, parent=7)
    fx.set("B", "kv_fraction", 0.5, parent=9)
    assert fx.parent("kv_fraction") == 7


def test_an_effect_the_component_does_not_have_is_an_error():
    fx = Effects(["slow_factor"])
    with pytest.raises(KeyError, match="kv_fraction"):
        fx.set("A", "kv_fraction", 0.5)
