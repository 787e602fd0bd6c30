"""Load-balancing policies (Envoy's names): pick one replica out of those in rotation."""

from __future__ import annotations

from typing import Any, Protocol

from sim.engine.distributions import UniformSampler
from sim.resilience.registry import Registry


class Balancer(Protocol):
    """Picks a replica from a non-empty list of candidates for one attempt."""

    def pick(self, candidates: list[Any], attempt: Any) -> Any: ...


BALANCERS: Registry[Balancer] = Registry("balancing policy")


@BALANCERS.register("round_robin")
class RoundRobin:
    """Each replica in turn (Envoy's default)."""

    def __init__(self, rng, choice_count: int = 2):
        self._i = 0

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        self._i += 1
        return candidates[self._i % len(candidates)]


@BALANCERS.register("random")
class RandomChoice:
    """A uniformly random replica."""

    def __init__(self, rng, choice_count: int = 2):
        self._u = UniformSampler(rng)

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        return candidates[int(self._u() * len(candidates))]


@BALANCERS.register("least_outstanding")
class LeastOutstanding:
    """The replica with the fewest outstanding requests (ties: the first in rotation order)."""

    def __init__(self, rng, choice_count: int = 2):
        pass

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        return min(candidates, key=_outstanding)


@BALANCERS.register("power_of_two")
class PowerOfChoices:
    """Sample ``choice_count`` replicas at random and take the least loaded (Envoy least_request)."""

    def __init__(self, rng, choice_count: int = 2):
        self._u = UniformSampler(rng)
        self.choice_count = choice_count

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        n = len(candidates)
        best = candidates[int(self._u() * n)]
        for _ in range(self.choice_count - 1):
            other = candidates[int(self._u() * n)]
            if other.outstanding < best.outstanding:
                best = other
        return best


def _outstanding(server: Any) -> int:
    return server.outstanding
