"""Composable numeric effects on a component: each source (a fault, a bad build, a new version) owns a share.

Slow factors multiply (two 2x slowdowns make 4x); probabilities add (10 % + 20 % errors make 30 %).
A source replaces or removes exactly its own share, so others' shares survive it: a fault ending
during a rollout does not undo the new version, and a rollback does not restore a fault that ended.
"""

from __future__ import annotations

from typing import Any

MULTIPLIED = frozenset(("slow_factor",))
"""Attributes whose shares multiply; every other attribute's shares add (and never go below 0)."""


def neutral(attribute: str) -> float:
    """The share that changes nothing: 1 for a factor, 0 for a probability."""
    return 1.0 if attribute in MULTIPLIED else 0.0


def replace_share(target: Any, attribute: str, old: float, new: float) -> None:
    """Replace one source's share ``old`` of ``target.attribute`` by ``new``, keeping everyone else's."""
    current = getattr(target, attribute)
    if attribute in MULTIPLIED:
        setattr(target, attribute, current / old * new)
    else:
        setattr(target, attribute, max(0.0, current - old + new))
