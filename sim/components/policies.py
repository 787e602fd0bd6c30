"""The policies a component is given when it is built: small Protocols, and one frozen bundle per kind.

A component holds policy objects and calls them; it never imports their implementations
(``sim.resilience.policies``), and nothing attaches a policy to a component after it is built.
``sim.assembly.policies`` builds each bundle from the scenario (a component's own field wins over
``policies:``). A bundle field left at None means "no such policy": the component then takes its
plain path (a bounded FIFO queue, no breaker, one load-balancer try, no throttle, ...), which costs
nothing on the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sim.engine.request import Attempt, Request

Reply = Callable[[Attempt, str], None]
"""How a component answers an attempt: ``reply(attempt, outcome)``."""


# --- what a load balancer holds ----------------------------------------------------------------------
class Balancer(Protocol):
    """Picks a replica out of the candidates in rotation for one attempt (None: refuses them all)."""

    def pick(self, candidates: list[Any], attempt: Attempt) -> Any | None: ...


class ReadinessCheck(Protocol):
    """Active health checks: probes the load balancer's replicas and ejects / restores them."""

    def start(self, world: Any, balancer: Any) -> None: ...

    def added(self, server: Any) -> None:
        """A replica joined the load balancer (autoscaling)."""

    def removed(self, server: Any) -> None:
        """A replica left the load balancer."""


class OutlierDetection(Protocol):
    """Passive ejection: sees every reply the load balancer forwards."""

    def start(self, world: Any, balancer: Any) -> None: ...

    def observe(self, server: Any, outcome: str) -> None: ...


class Panic(Protocol):
    """Whether to route to every replica, in rotation or not, given how many are in rotation."""

    def active(self, in_rotation: int, total: int) -> bool: ...


class RateLimit(Protocol):
    """Admits an attempt of a client at a time, or not (answered ``rate_limited``)."""

    def allow(self, client: str, now: float) -> bool: ...


class Fallback(Protocol):
    """Graceful degradation: which failures fall back, the share answered from a cache of earlier
    answers, and the replicas of the smaller pool."""

    on: Any
    cached_answer_ratio: float
    servers: list[Any]


# --- what a client or a load balancer holds ----------------------------------------------------------
class Retry(Protocol):
    """Retry policy: told when attempts start and end; says whether to retry and after how long."""

    counts_attempts: bool
    """False when the policy reads nothing of ``attempt_started`` / ``attempt_ended``: the holder may skip them."""

    def attempt_started(self, number: int) -> None: ...

    def attempt_ended(self, number: int, ok: bool) -> None: ...

    def should_retry(self, reason: str, number: int) -> bool: ...

    def backoff_s(self, number: int) -> float: ...


# --- what a client holds -------------------------------------------------------------------------------
class Throttle(Protocol):
    """Client-side adaptive throttling: may refuse an attempt locally; sees every outcome."""

    def admit(self) -> bool: ...

    def record(self, outcome: str) -> None: ...


class BalancerSelection(Protocol):
    """Which of its load balancers a client sends an attempt to (DNS, global load balancing, a cell
    router); ``coin`` is the client's uniform [0, 1) sampler."""

    def pick(self, request: Request, coin: Callable[[], float]) -> Any: ...


# --- what a server replica holds ---------------------------------------------------------------------
class WaitingQueue(Protocol):
    """A replica's waiting queue under a queue discipline (the deque interface the servers use, plus
    ``admit``, which may push out another entry to make room)."""

    def admit(self, att: Attempt) -> bool: ...

    def append(self, att: Attempt) -> None: ...

    def appendleft(self, att: Attempt) -> None: ...

    def popleft(self) -> Attempt: ...

    def __getitem__(self, index: int) -> Attempt: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Attempt]: ...

    def clear(self) -> None: ...


WaitingQueueFactory = Callable[[int, Reply], WaitingQueue]
"""Builds a replica's waiting queue from its capacity and the replica's own reply (for shed entries)."""

DependencyGuard = Callable[[Any, Callable[[str], None]], Any]
"""Wraps a dependency (same ``call_for`` interface, and ``breaker``); the callback hears every breaker
state change (closed, open, half_open) so the replica can show it on its own timeline."""


@dataclass(frozen=True)
class ServerPolicies:
    """A replica's policies: its queue discipline and the circuit breaker around its dependency."""

    waiting_queue: WaitingQueueFactory | None = None
    """None: the plain bounded FIFO (a deque, no cost); else a discipline (LIFO, CoDel, priority, deadlines)."""
    dependency_guard: DependencyGuard | None = None
    """None: the dependency is called directly; else through a circuit breaker."""


@dataclass(frozen=True)
class BalancerPolicies:
    """A load balancer's policies. Only ``balancer`` is required."""

    balancer: Balancer
    readiness: ReadinessCheck | None = None
    outlier: OutlierDetection | None = None
    panic: Panic | None = None
    retry: Retry | None = None
    """Retries on another replica at the load balancer (None: one try)."""
    rate_limit: RateLimit | None = None
    fallback: Fallback | None = None


@dataclass(frozen=True)
class ClientPolicies:
    """A client population's policies besides its retry policy and per-attempt timeout."""

    selection: BalancerSelection | None = None
    """None: a uniformly random load balancer of its targets (no health)."""
    throttle: Throttle | None = None
    overall_timeout_s: float | None = None
    """Deadline of a whole request, retries included (None: none)."""
    priority: int = 0
    """Priority class of its requests (0: the sheddable class)."""
    static_stability: bool = False
    """Keep using the last-known-good discovery answer when discovery fails."""
