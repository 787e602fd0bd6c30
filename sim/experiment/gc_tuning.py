"""Garbage-collector settings for the simulation loop.

What a run allocates falls in two groups: the stack built before the clock starts (components,
policies, the scenario, trace arrays), which lives for the whole run, and per-request objects
(requests, attempts, scheduled callbacks), which die by reference counting within a request's
lifetime. With CPython's default thresholds (700, 10, 10) the collector keeps re-scanning both:
the built stack on every full collection, and every request in flight on each young collection
it survives. So for the run the built stack is frozen (``gc.freeze``: moved out of the collected
generations) and the young-generation threshold raised, so that most short-lived objects are freed
before a collection ever sees them; cyclic garbage is still collected, only less often. Both are
restored when the run ends, also on an error, so a process running many simulations (or a notebook)
keeps its own settings.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLDS = (100_000, 50, 50)
"""Young-generation allocations between collections, and the older generations' multipliers, during a run."""


@contextmanager
def building_gc() -> Iterator[None]:
    """Raise the collection thresholds while the stack is built, then restore them. Nearly everything a build
    allocates lives for the whole run, so collections during it only re-scan the growing stack (at 2048
    replicas they took about a third of the build); ``tuned_gc`` freezes it once built."""
    before = gc.get_threshold()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def tuned_gc() -> Iterator[None]:
    """Freeze what exists now and raise the collection thresholds until the block ends; then restore both."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
