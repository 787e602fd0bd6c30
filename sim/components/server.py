"""What every server replica shares: lifecycle state machine, dependency calls, replies, overload.

Lifecycle: starting (cold start: model load) → healthy ⇄ overloaded (waiting queue above 90 % of its
bound; back below 50 %) → down (crash) → starting … Every transition records its cause.
Subclasses implement the service discipline: ``_enqueue`` (accept work), ``_drop_all`` (lose it on
a crash), ``_cancel`` and ``queue_length``.
"""

from __future__ import annotations

from typing import Any

from sim.engine.distributions import UniformSampler
from sim.engine.request import Attempt
from sim.engine.world import World
from sim.observe.timeline import Cause

OVERLOAD_ON = 0.9
OVERLOAD_OFF = 0.5
SERVING_STATES = frozenset(("healthy", "overloaded", "degraded", "draining"))


class ServerBase:
    """A replica: accepts attempts, calls its dependency, serves them, replies, crashes and restarts."""

    kind = "server"

    def __init__(self, world: World, name: str, pool: str, zone: str, queue_capacity: int, model_load_s: float):
        self.world = world
        self.name = name
        self.pool = pool
        self.zone = zone
        self.queue_capacity = queue_capacity
        self.model_load_s = model_load_s
        self.peers: list[str] = []
        self.dependency: Any = None
        self.dependency_calls = 0
        self.state = "healthy"
        self.incarnation = 0
        self.outstanding = 0
        """Attempts accepted and not yet replied to (dependency stage, waiting, running)."""
        self.in_dependency: set[Attempt] = set()
        self.slow_factor = 1.0
        self.error_probability = 0.0
        self.hung = False
        self.stuck: list[Attempt] = []
        """Attempts a hung server finished computing but never answers (only a crash or timeout ends them)."""
        self.coin = UniformSampler(world.streams.get(name, "faults"))
        self._on_hi = max(1, int(queue_capacity * OVERLOAD_ON))
        self._on_lo = int(queue_capacity * OVERLOAD_OFF)
        self.completed = 0
        self.failed = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed warm"))

    def _set_state(self, state: str, cause: Cause) -> int | None:
        """Change lifecycle state and record it with its cause."""
        self.state = state
        return self.world.set_state(self.name, state, cause)

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def serving(self) -> bool:
        return self.state in SERVING_STATES

    def probe_ok(self) -> bool:
        """Readiness: answers a health probe when serving and not hung."""
        return self.serving and not self.hung

    def crash(self, cause: Cause, restart_after_s: float | None) -> None:
        """Lose all in-flight work; restart after a delay (then cold start), or stay down."""
        if self.state == "down":
            return
        self.incarnation += 1
        self._drop_all("server_error")
        stuck, self.stuck = self.stuck, []
        for att in stuck:
            self._reply(att, "server_error")
        for att in list(self.in_dependency):
            self._reply(att, "server_error")
        self.in_dependency.clear()
        self._set_state("down", cause)
        if restart_after_s is not None:
            self.world.call_later(restart_after_s, self.start, self.incarnation)

    def start(self, incarnation: int | None = None) -> None:
        """Begin a (re)start: the model loads for model_load_s (cold start), then the replica serves."""
        if incarnation is not None and incarnation != self.incarnation:
            return
        self.incarnation += 1
        why = Cause("mechanism", self.name, "restart", "process restarted, loading model",
                    (self.world.timeline.last_transition[self.name],))
        self._set_state("starting", why)
        self.world.call_later(self.model_load_s, self._loaded, self.incarnation)

    def _loaded(self, incarnation: int) -> None:
        if incarnation != self.incarnation or self.state != "starting":
            return
        self._set_state("healthy", Cause("mechanism", self.name, "cold_start", "model loaded"))

    # --- request path ----------------------------------------------------------------------------
    def submit(self, att: Attempt) -> None:
        """An attempt arrives from a load balancer."""
        att.server = self.name
        if not self.serving:
            att.reply(att, "server_error")
            return
        if self.queue_length() >= self.queue_capacity:
            att.reply(att, "rejected")
            return
        self.outstanding += 1
        if self.dependency is not None and self.dependency_calls > 0:
            self.in_dependency.add(att)
            self.dependency.call_for(
                att.request.user, self.zone, self._dependency_done, att, self.dependency_calls, self.incarnation
            )
        else:
            self._enqueue(att)

    def _dependency_done(self, att: Attempt, calls_left: int, incarnation: int, ok: bool) -> None:
        if incarnation != self.incarnation:
            return
        if not ok:
            self.in_dependency.discard(att)
            self._reply(att, "dependency_error")
            return
        if calls_left > 1:
            user = att.request.user
            self.dependency.call_for(user, self.zone, self._dependency_done, att, calls_left - 1, incarnation)
            return
        self.in_dependency.discard(att)
        if att.cancelled:
            self._reply(att, "cancelled")
            return
        self._enqueue(att)

    def cancel(self, att: Attempt) -> None:
        """The client gave up on this attempt and tells the server (only with cancel_on_timeout)."""
        att.cancelled = True
        if att.server == self.name:
            self._cancel(att)

    def _reply(self, att: Attempt, outcome: str) -> None:
        self.outstanding -= 1
        if outcome == "success":
            self.completed += 1
        else:
            self.failed += 1
        att.reply(att, outcome)

    def _served(self, att: Attempt) -> None:
        """Work finished: a success, unless a software fault hangs it or turns it into an error."""
        if self.hung:
            self.stuck.append(att)
        elif self.error_probability and self.coin() < self.error_probability:
            self._reply(att, "server_error")
        else:
            self._reply(att, "success")

    def _check_load(self) -> None:
        """Overloaded / healthy hysteresis on the waiting queue."""
        q = self.queue_length()
        if self.state == "healthy" and q >= self._on_hi:
            peers = self.world.timeline.impairing_transitions(self.peers)
            detail = f"queue {q}/{self.queue_capacity}"
            if peers:
                detail += "; load shifted from " + ", ".join(
                    self.world.timeline.transitions[t].component for t in peers
                )
            self._set_state("overloaded", Cause("mechanism", self.name, "queueing", detail, peers))
        elif self.state == "overloaded" and q <= self._on_lo:
            self.world.set_state(
                self.name, "healthy", Cause("mechanism", self.name, "queueing", f"queue drained to {q}")
            )

    # --- for subclasses ----------------------------------------------------------------------------
    def queue_length(self) -> int:
        raise NotImplementedError

    def _enqueue(self, att: Attempt) -> None:
        raise NotImplementedError

    def _drop_all(self, outcome: str) -> None:
        raise NotImplementedError

    def _cancel(self, att: Attempt) -> None:
        raise NotImplementedError
