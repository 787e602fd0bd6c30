"""Durations of people: a fixed number of seconds or a distribution, drawn from the run's seeded streams."""

from __future__ import annotations

from typing import Any

from sim.engine.distributions import from_spec
from sim.engine.world import World


def draw_s(world: World, value: Any, who: str, purpose: str) -> float:
    """One draw of a duration spec: a number as it is, a distribution from stream (``who``, ``purpose``)."""
    if isinstance(value, int | float):
        return float(value)
    return max(0.0, float(from_spec(value).sample(world.streams.get(who, purpose))))
