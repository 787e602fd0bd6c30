"""How a client picks one of its load balancers: a health-checked DNS record, or a thin cell router.

Real clients do not see a load balancer's health directly: they resolve a name, and global load
balancing (Route 53 health-checked records, GSLB) answers only the load balancers whose health checks
pass. ``HealthCheckedRecord`` is that record: a checker probes each load balancer every
``check_interval_s`` (it is healthy while it is up: ``available``); ``failure_threshold`` failed
checks in a row withdraw it from the answer, as many passes put it back. When none is healthy the
record answers all of them (Route 53 fails open). Each client caches the answer for ``ttl_s``
(``DnsAnswer``), so a dead load balancer keeps receiving a client's attempts for at most
check_interval_s x failure_threshold + ttl_s.

Selections (registry ``SELECTIONS``; the client spec's ``lb_selection``):
- random: a uniformly random load balancer of the client's cached answer;
- by_user: a thin cell router: each user always goes to the same target (its cell), healthy or not,
  so a cell's failure stays with its users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.components.policies import BalancerSelection
from sim.resilience.registry import Registry
from sim.spec.policies import LbDnsSpec


class HealthCheckedRecord:
    """The health-checked DNS record of a set of load balancers, shared by the clients that use them."""

    def __init__(self, balancers: list[Any], spec: LbDnsSpec):
        self.balancers = balancers
        self.spec = spec
        self.healthy: list[Any] = list(balancers)
        """The answer now: the load balancers that pass their health checks (all of them when none does)."""
        self._passing = {b.name: True for b in balancers}
        self._streak = {b.name: 0 for b in balancers}
        self.withdrawals = 0
        """How many times a load balancer left the answer."""

    def start(self, world: Any) -> None:
        """Begin the health checks on the world's clock (one check of every load balancer per interval)."""
        if self.spec.health_checked:
            world.call_later(self.spec.check_interval_s, self._check, world)

    def _check(self, world: Any) -> None:
        changed = False
        for b in self.balancers:
            ok = bool(b.available)
            if ok == self._passing[b.name]:
                self._streak[b.name] = 0
                continue
            self._streak[b.name] += 1
            if self._streak[b.name] >= self.spec.failure_threshold:
                self._passing[b.name] = ok
                self._streak[b.name] = 0
                self.withdrawals += not ok
                changed = True
        if changed:
            passing = [b for b in self.balancers if self._passing[b.name]]
            self.healthy = passing or list(self.balancers)
        world.call_later(self.spec.check_interval_s, self._check, world)


class DnsAnswer:
    """One client's cached copy of a record's answer, refreshed when its TTL has run out."""

    def __init__(self, record: HealthCheckedRecord, ttl_s: float, now: Callable[[], float]):
        self.record = record
        self.ttl_s = ttl_s
        self._now = now
        self._answer = record.healthy
        self._until = ttl_s

    def current(self) -> list[Any]:
        now = self._now()
        if now >= self._until:
            self._answer = self.record.healthy
            self._until = now + self.ttl_s
        return self._answer


SELECTIONS: Registry[BalancerSelection] = Registry("balancer selection")


@SELECTIONS.register("random")
class RandomFromAnswer:
    """A uniformly random load balancer of the client's cached DNS answer."""

    def __init__(self, balancers: list[Any], answer: DnsAnswer | None):
        self.balancers = balancers
        self.answer = answer

    def pick(self, request: Any, coin: Callable[[], float]) -> Any:
        choices = self.balancers if self.answer is None else self.answer.current()
        return choices[0] if len(choices) == 1 else choices[int(coin() * len(choices))]


@SELECTIONS.register("by_user")
class CellRouter:
    """Each user always reaches the same target (its cell), healthy or not."""

    def __init__(self, balancers: list[Any], answer: DnsAnswer | None):
        self.balancers = balancers

    def pick(self, request: Any, coin: Callable[[], float]) -> Any:
        return self.balancers[request.user % len(self.balancers)]
