"""The contract every registered fault kind keeps: it acts through the port, and after its window the
components it touched are back to neutral (no effect of any source left, no hold left).

Runs every kind of the registry (``sim.faults.FAULTS``) on one stack that has every kind of target
(``tests.unit.test_faults.FULL_STACK``, plus a database standby so that a lost primary is replaced).
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.faults import FAULTS
from tests.helpers import merge
from tests.unit.test_fault_overlap import probe
from tests.unit.test_faults import FULL_STACK, KIND_FIELDS

WINDOW = (20.0, 50.0)

ACTS_ELSEWHERE = frozenset(("network_latency", "packet_loss", "partition", "cache_flush", "bot_traffic", "crash",
                            "connection_surge"))
"""Kinds that leave no effect or hold on a port mid-window: link impairments live in the network model, a
cache flush, a connection surge and a crash with restart are over at once (recovery is a mechanism), bots are
a new population."""


def touched(stack: Any, names: set[str]) -> dict[str, Any]:
    """Of the components ``names``: the effects and holds each has now (only those with any)."""
    out: dict[str, Any] = {}
    for name in sorted(names):
        comp = stack.by_name[name]
        effects = comp.effects.active()
        holds = sorted(comp.holds)
        if effects or holds:
            out[name] = {"effects": effects, "holds": holds}
    return out


@pytest.mark.parametrize("kind", FAULTS.names())
def test_after_its_window_every_target_is_neutral_and_unheld(kind):
    fault = {"id": "f", "kind": kind, "at_s": WINDOW[0], "duration_s": WINDOW[1] - WINDOW[0], **KIND_FIELDS[kind]}
    data = merge(FULL_STACK, {"faults": [fault], "topology": {"databases": [
        {"name": "db", "zone": "b", "connect_timeout_s": 1.0,
         "replica": {"zone": "a", "detection_s": 5, "promotion_s": 5}},
        {"name": "pg", "zone": "a", "connections": {"pool_min": 5}}]}})
    names: set[str] = set()  # every component there before the fault (a population it adds is its own)

    def read(stack: Any) -> dict[str, Any]:
        if not names:
            names.update(n for n, c in stack.by_name.items() if hasattr(c, "effects"))
        return touched(stack, names)

    (before, during, after), stack, world = probe(data, [WINDOW[0] - 1, WINDOW[0] + 1, 89.0], read)
    assert before == {}
    if kind not in ACTS_ELSEWHERE:
        assert during, f"{kind} changed nothing on any port during its window"
    targets = {t for e in world.faults.log for t in e["targets"]}
    assert targets <= names
    assert after == {}, f"{kind} left effects or holds after its window"


def test_every_registered_kind_is_in_the_contract():
    assert set(FAULTS.names()) == set(KIND_FIELDS)
