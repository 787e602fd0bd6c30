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

    def lazy(self, component: str, purpose: str) -> LazyGenerator:
        """The same stream as ``get``, made only when first drawn from: for streams most runs never use (a
        replica's fault coin), whose Generator would otherwise be most of a replica's build (~60 us each)."""
        return LazyGenerator(self, component, purpose)


class LazyGenerator:
    """Stands for ``streams.get(component, purpose)``: the Generator is made at the first attribute read
    (``random``, ``uniform``...), and every later read goes to it. The draws are those of the Generator
    itself, whenever it is made (a stream depends only on the seed and its names)."""

    __slots__ = ("_streams", "_component", "_purpose", "_generator")

    def __init__(self, streams: RandomStreams, component: str, purpose: str):
        self._streams = streams
        self._component = component
        self._purpose = purpose
        self._generator: np.random.Generator | None = None

    @property
    def made(self) -> bool:
        """Whether the Generator exists yet (something drew from the stream)."""
        return self._generator is not None

    def __getattr__(self, name: str):
        generator = self._generator
        if generator is None:
            generator = self._generator = self._streams.get(self._component, self._purpose)
        return getattr(generator, name)
