"""Reproducible, independent random streams: one numpy Generator per (component, purpose).

Streams are derived from the scenario seed and a stable hash of the key (not Python's salted
``hash``), so adding a component never reshuffles another's stream, and two designs run with the
same seed see the same arrivals (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(text: str) -> int:
    """A 64-bit integer from a string, identical across processes and Python versions."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


class RandomStreams:
    """Factory of named, independent Generators derived from one root seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def get(self, component: str, purpose: str) -> np.random.Generator:
        """The Generator for one component and purpose (a fresh one each call, same sequence)."""
        seq = np.random.SeedSequence([self.seed, stable_key(component), stable_key(purpose)])
        return np.random.Generator(np.random.PCG64(seq))
