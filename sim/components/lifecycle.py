"""A replica's lifecycle: its states, the legal moves between them, holds, restarts, cold starts, drains.

States: starting (cold start: model load, start-up queries) → healthy ⇄ overloaded / degraded →
draining → down → starting … ``SERVER_MOVES`` is the transition table; any other move raises
``IllegalTransition`` (a forced record within the same state, a fault marking its target, is not a
move and goes straight to the timeline).

Holds: faults and controllers that keep a replica out of service (a zone outage, a lost GPU, a drain
for maintenance, a scale-down) each hold it under their own key; it restarts only when the last one
lets go, and a released hold never brings forward a restart still pending (crash-loop back-off).

Timers: what the replica scheduled for its current incarnation (the end of the model load, a
pending restart, a memory check) is a ``TimerGroup`` that every crash and every start cancels, so
no callback has to ask whether it is stale.

One drain (``drain``): readiness fails at once (the state is ``draining``), in-flight work finishes,
then the owner's callback runs; with a grace period it runs anyway when the time is up. A drain
for maintenance, a rolling restart under a disruption budget and an autoscaler's scale-down all use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from sim.engine.timeline import Cause

SERVING_STATES = frozenset(("healthy", "overloaded", "degraded", "draining"))
"""States in which a replica accepts work."""

SERVER_MOVES: dict[str, frozenset[str]] = {
    "starting": frozenset(("healthy", "down")),
    "healthy": frozenset(("overloaded", "degraded", "draining", "down", "starting")),
    "overloaded": frozenset(("healthy", "draining", "down")),
    "degraded": frozenset(("healthy", "draining", "down")),
    "draining": frozenset(("down",)),
    "down": frozenset(("starting",)),
}
"""Legal moves of a replica. healthy → starting is a replica that was just provisioned beginning its
cold start; every other start comes from down."""

DRAIN_POLL_S = 1.0
"""How often a draining replica checks whether its work is done."""


class IllegalTransition(RuntimeError):
    """A move the transition table does not allow (a bug in whoever asked for it)."""


class Holds:
    """Keys of whatever holds a component out of service; it comes back only when the set is empty."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def add(self, key: str) -> bool:
        """Hold under ``key``; True when this is the first hold."""
        first = not self._keys
        self._keys.add(key)
        return first

    def release(self, key: str) -> bool:
        """Let go of ``key``; True when it was held and was the last hold."""
        if key not in self._keys:
            return False
        self._keys.discard(key)
        return not self._keys

    def keys(self) -> set[str]:
        """A copy of the keys holding now."""
        return set(self._keys)

    def replace(self, keys: set[str]) -> None:
        """Hold by exactly these keys (a database promotion moves the primary's holds to the standby)."""
        self._keys = set(keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))


class HeldOutOfService:
    """The port's ``hold`` / ``release`` for a component that is simply up or down (a database, a cache, a
    load balancer): ``available`` is False while any hold is on and True again when the last lets go. A
    subclass says what being held costs it (``_on_held``) and which state it returns to (``_released_state``)."""

    holds: Holds
    available: bool
    world: Any
    name: str

    def hold(self, key: str, cause: Cause | None) -> None:
        """Out of service while ``key`` holds it; ``cause``, when given, is recorded (a forced down)."""
        self.holds.add(key)
        self.available = False
        self._on_held()
        if cause is not None:
            self.world.set_state(self.name, "down", cause, force=True)

    def release(self, key: str, cause: Cause) -> bool:
        """Let go of ``key``; True when nothing holds it any more: it serves again."""
        if not self.holds.release(key):
            return False
        self.available = True
        self.world.set_state(self.name, self._released_state(), cause)
        return True

    def _on_held(self) -> None:
        """What being held costs beyond refusing work (nothing by default)."""

    def _released_state(self) -> str:
        return "healthy"


class Lifecycle:
    """The state machine of one replica (see the module docstring).

    It writes the replica's ``state``, ``serving`` and ``incarnation`` (plain attributes the request
    path reads) and nothing else of it; what a crash does to the work in flight is the replica's own
    ``_lose_work``, and what happens once the model is loaded is its ``_loaded``.
    """

    def __init__(self, server: Any, moves: dict[str, frozenset[str]] = SERVER_MOVES):
        self.server = server
        self.world = server.world
        self.moves = moves
        self.holds = Holds()
        self.restart_at_s: float | None = None
        """When a pending automatic restart is due (None: none pending)."""
        self.timers = server.world.timers()
        """This incarnation's timers: cancelled by every crash and every start."""

    # --- the table ---------------------------------------------------------------------------------
    def move(self, state: str, cause: Cause) -> int | None:
        """Change state (a legal move, or staying put) and record it with its cause."""
        server = self.server
        if state != server.state and state not in self.moves[server.state]:
            raise IllegalTransition(f"{server.name}: {server.state} -> {state} is not a legal move ({cause.text()})")
        server.state = state
        server.serving = state in SERVING_STATES
        server.probe_inputs_changed()
        return self.world.set_state(server.name, state, cause)

    # --- crash, restart, cold start --------------------------------------------------------------
    def crash(self, cause: Cause, restart_after_s: float | None) -> None:
        """Lose all in-flight work; restart after a delay (then cold start), or stay down.

        A fault hitting a replica that is already down is recorded (a forced transition naming it, a
        cascade root); the replica stays down and any restart already due keeps its time.
        """
        server = self.server
        if server.state == "down":
            if cause.kind == "fault":
                self.world.set_state(server.name, "down", cause, force=True)
            return
        self._new_incarnation()
        server._lose_work()
        self.move("down", cause)
        self.restart_at_s = None if restart_after_s is None else self.world.env.now + restart_after_s
        if restart_after_s is not None:
            self.timers.call_later(restart_after_s, self.start)

    def _new_incarnation(self) -> None:
        self.server.incarnation += 1
        self.timers.cancel_all()

    def restart_due(self) -> bool:
        """Whether nothing but the holds keeps this down replica from starting: no restart is still pending
        (a released hold must not bring forward a restart delay or a crash-loop back-off)."""
        return self.restart_at_s is None or self.restart_at_s <= self.world.env.now

    def start(self, reason: str = "process restarted, loading model") -> None:
        """Begin a (re)start unless something holds the replica: the model loads (cold start), then it serves."""
        server = self.server
        if self.holds:
            return
        self.restart_at_s = None
        self._new_incarnation()
        why = Cause("mechanism", server.name, "restart", reason, (self.world.timeline.last_transition[server.name],))
        self.move("starting", why)
        self.timers.call_later(server.model_load_s, self._loaded)

    def restart_after(self, delay_s: float, reason: str = "process restarted, loading model") -> None:
        """Start after ``delay_s`` unless this incarnation ends first (a new build installed on a down replica)."""
        self.timers.call_later(delay_s, self.start, reason)

    def _loaded(self) -> None:
        if self.server.state == "starting":
            self.server._loaded()

    def ready(self, cause: Cause) -> None:
        """Start-up finished (model loaded, start-up queries done): serve, unless a hold or a crash-loop bug
        stops it."""
        server = self.server
        if self.holds:  # a fault took hold while it was starting: it does not come up
            self.crash(Cause("mechanism", server.name, "held_down", "stopped at the end of start-up: still held down",
                             (self.world.timeline.last_transition[server.name],)), None)
            return
        delay_s = server.effects["crash_loop_restart_s"]
        if delay_s < math.inf:
            parent = server.effects.parent("crash_loop_restart_s")
            self.crash(Cause("mechanism", server.name, "crash_loop", "crashed while starting: bad build or config",
                             (parent,)), delay_s)
            return
        self.move("healthy", cause)
        server._serving_again()

    # --- holds -----------------------------------------------------------------------------------
    def hold(self, key: str, cause: Cause | None) -> None:
        """Hold the replica out of service under ``key``: it stops at once (no restart) when ``cause`` is
        given, and does not start again while any hold remains."""
        self.holds.add(key)
        if cause is not None:
            self.crash(cause, None)

    def release(self, key: str, reason: str) -> bool:
        """Let go of ``key``; True when no other hold remains. A down replica with no restart pending
        then cold-starts (``reason``, loading model)."""
        if not self.holds.release(key):
            return False
        if self.server.state == "down" and self.restart_due():
            self.start(f"{reason}, loading model")
        return True

    # --- drain -----------------------------------------------------------------------------------
    def drain(self, cause: Cause, on_drained: Callable[[bool], None], grace_s: float | None = None,
              first_check_s: float = DRAIN_POLL_S) -> None:
        """Stop taking new work (readiness fails) and let in-flight work finish, then ``on_drained(killed)``.

        The drain is over when nothing is in flight or the replica left ``draining`` (a crash meanwhile);
        with ``grace_s``, also when that much time has passed (``killed`` True: work is still in flight,
        the owner decides its fate). A replica that is not serving does not change state; it is checked
        all the same. The checks are plain timers, not the incarnation's: a crash ends the drain, it
        does not lose its end.
        """
        if self.server.serving:
            self.move("draining", cause)
        since_s = self.world.env.now
        if first_check_s <= 0:
            self._drain_check(since_s, grace_s, on_drained)
        else:
            self.world.call_later(first_check_s, self._drain_check, since_s, grace_s, on_drained)

    def _drain_check(self, since_s: float, grace_s: float | None, on_drained: Callable[[bool], None]) -> None:
        server = self.server
        busy = server.outstanding > 0 and server.state == "draining"
        if busy and (grace_s is None or self.world.env.now - since_s < grace_s):
            self.world.call_later(DRAIN_POLL_S, self._drain_check, since_s, grace_s, on_drained)
            return
        on_drained(busy)
