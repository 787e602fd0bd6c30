"""A registry of named policy implementations, so a scenario picks one by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a name to a factory; every registered implementation must pass the family's contract test."""

    def __init__(self, family: str):
        self.family = family
        self._items: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._items:
                raise ValueError(f"{self.family} '{name}' is registered twice")
            self._items[name] = factory
            return factory

        return deco

    def get(self, name: str) -> Callable[..., T]:
        """The registered factory (or function) itself."""
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.family} '{name}' (known: {', '.join(sorted(self._items))})") from None

    def create(self, name: str, *args, **kwargs) -> T:
        """Call the registered factory."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._items)
