"""Component state timeline: every state change, with its cause.

A cause names a fault (a root) or a component and mechanism, and links to the transitions that
pushed it (``parents``). A change caused by load also names the load's sources (``loads``): a fault
that raised the arrival rate (a surge, bots), a client's retries (with the transitions whose failures
set them off), or a client's own demand (a root of its own). The cascade graph is built from these
links, never guessed from timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATES = ("starting", "healthy", "degraded", "overloaded", "draining", "down")
"""States of every component's state machine, from best to worst, plus starting (cold start)."""


LOAD_KINDS = ("fault", "retries", "demand")
"""Sources of load a cause may name: a fault raising a client's rate (its id), a client's retries, a client's
own demand (a root when nothing else explains the load)."""


@dataclass(frozen=True)
class Load:
    """One source of the load behind a load-caused change (overloaded, readiness failing, OOM kill).

    ``kind`` is one of ``LOAD_KINDS``; ``source`` the fault id (kind 'fault') or the client's name;
    ``parents`` (retries only): the transitions whose failures the client is retrying.
    """

    kind: str
    source: str
    detail: str = ""
    parents: tuple[int, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """'retries of users: 2.9 attempts per request over the last 30 s'."""
        head = {"fault": f"fault {self.source}", "retries": f"retries of {self.source}",
                "demand": f"demand of {self.source}"}.get(self.kind, f"{self.kind} {self.source}")
        return f"{head}: {self.detail}" if self.detail else head


@dataclass(frozen=True)
class Cause:
    """Why a transition happened: a fault id (kind 'fault') or a component's mechanism."""

    kind: str
    source: str
    mechanism: str
    detail: str = ""
    parents: tuple[int, ...] = field(default_factory=tuple)
    loads: tuple[Load, ...] = field(default_factory=tuple)
    """For a change caused by load: where the load came from (see ``Load``)."""

    def text(self) -> str:
        """One line for people: 'fault crash-1' or 'mechanism health_check by lb-1: ...'."""
        head = f"fault {self.source}" if self.kind == "fault" else f"{self.mechanism} by {self.source}"
        return f"{head}: {self.detail}" if self.detail else head


@dataclass(frozen=True)
class Transition:
    """One state change of one component at one time."""

    id: int
    t_s: float
    component: str
    state: str
    previous: str | None
    cause: Cause


class StateTimeline:
    """Records transitions; ``current`` and ``last_transition`` answer 'what state, since which change'."""

    def __init__(self) -> None:
        self.transitions: list[Transition] = []
        self.current: dict[str, str] = {}
        self.last_transition: dict[str, int] = {}

    def set(self, t_s: float, component: str, state: str, cause: Cause, force: bool = False) -> int | None:
        """Move a component to a state; returns the transition id, or None if it was already there.

        ``force`` records a change within the same state (e.g. a load balancer losing a second replica).
        """
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        previous = self.current.get(component)
        if previous == state and not force:
            return None
        tid = len(self.transitions)
        self.transitions.append(Transition(tid, t_s, component, state, previous, cause))
        self.current[component] = state
        self.last_transition[component] = tid
        return tid

    def impairing_transitions(self, components: list[str]) -> tuple[int, ...]:
        """Transition ids that put these components in a state worse than healthy (for blame)."""
        out = []
        for name in components:
            if self.current.get(name) not in (None, "healthy"):
                out.append(self.last_transition[name])
        return tuple(out)
