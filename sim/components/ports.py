"""The ports: what faults and controllers may use of a component, and nothing else.

Every component a fault or controller acts on has a name, a zone and a kind, an ``Effects`` object
(``sim/components/effects.py``: each named effect set and cleared by source, combined by its declared
rule) and holds (``hold(key, cause)`` / ``release(key, cause)``: out of service while any key holds it).
A replica adds lifecycle verbs (crash, start, restart_after, drain) and its memory model; a client
adds a new population; a control plane its load. Ending a hold, restarting and cold starts are the
component's business: a fault's end is generic (clear its source, release its holds).

These are Protocols: the components satisfy them structurally, and the contract tests
(``tests/unit/test_fault_contract.py``) check that every fault kind leaves its targets neutral.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sim.components.effects import Effects
from sim.components.lifecycle import Holds
from sim.engine.timeline import Cause


@runtime_checkable
class Port(Protocol):
    """What every component a fault or controller acts on offers."""

    name: str
    zone: str | None
    kind: str
    effects: Effects

    @property
    def holds(self) -> Holds: ...

    def hold(self, key: str, cause: Cause | None) -> None:
        """Out of service under ``key`` (recorded with ``cause``; None: only registered)."""

    def release(self, key: str, cause: Cause) -> bool:
        """Let go of ``key``; True when nothing holds the component any more and it came back."""


@runtime_checkable
class ReplicaPort(Port, Protocol):
    """A server replica: lifecycle verbs, probes and its memory model on top of the common port."""

    pool: str
    state: str
    serving: bool
    outstanding: int
    model_load_s: float
    memory: Any

    def crash(self, cause: Cause, restart_after_s: float | None) -> None:
        """Lose in-flight work; restart after the delay (then cold start), or stay down."""

    def start(self, reason: str = ...) -> None:
        """Begin a cold start now unless held (a provisioned replica)."""

    def restart_after(self, delay_s: float, reason: str = ...) -> None:
        """Start after a delay unless this incarnation ends first."""

    def drain(self, cause: Cause, on_drained: Callable[[bool], None], grace_s: float | None = None,
              first_check_s: float = ...) -> None:
        """Readiness fails; in-flight work finishes; then ``on_drained(killed)``."""

    def restart_due(self) -> bool: ...

    def probe_ok(self) -> bool: ...

    def probe_latency_s(self) -> float: ...

    def probe_volatile(self) -> bool: ...


@runtime_checkable
class ClientPort(Port, Protocol):
    """A client population: its effects (arrival rate, poison share) and a new population beside it."""

    def add_population(self, name: str, rate_rps: float, retry: Any, timeout_s: float | None,
                       origin_fault: str | None = None) -> Any:
        """A new population sharing this one's load balancers, zone, users and token mix (bots)."""


@runtime_checkable
class ControlPlanePort(Port, Protocol):
    """The control plane: its load and capacity effects, recorded with their cause, and its health (``serving``:
    calls succeed; ``state``: healthy, degraded or overloaded)."""

    serving: bool
    state: str

    def set_load(self, key: str, cause: Cause, added_ops_s: float = 0.0, multiplier: float = 1.0,
                 per_node_ops_s: float = 0.0, per_node_sq_ops_s: float = 0.0) -> None: ...

    def set_capacity(self, key: str, cause: Cause, added_ops_s: float = 0.0, multiplier: float = 1.0) -> None:
        """Add (or, multiplier below 1, remove) capacity under ``key``; the defaults undo ``key``'s change."""

    def call_when_serving(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once calls succeed (at once if they do): what needs the control plane waits."""
