"""What every server replica shares: accepting work, dependency calls, replies, overload.

Its lifecycle (states, transition table, holds, restarts, cold starts, drains) is a ``Lifecycle``
(``sim/components/lifecycle.py``); its memory a ``Memory`` (``sim/components/memory.py``); what faults
and controllers do to it its ``Effects`` (``sim/components/effects.py``). Faults and controllers
reach it through its port (``sim/components/ports.py``: effects, hold / release, crash, drain,
restart), never through its attributes.
Subclasses implement the service discipline: ``_enqueue`` (accept work), ``_drop_all`` (lose it on
a crash), ``_cancel`` and ``queue_length``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from sim.components.effects import Effects
from sim.components.lifecycle import SERVING_STATES, Holds, Lifecycle
from sim.components.memory import Memory
from sim.components.policies import ServerPolicies
from sim.engine.blame import client_loads, feeding_clients, load_text, shifted_from
from sim.engine.distributions import UniformSampler
from sim.engine.request import Attempt
from sim.engine.timeline import Cause, Load
from sim.engine.world import World

__all__ = ["SERVING_STATES", "ServerBase"]

OVERLOAD_ON = 0.9
OVERLOAD_OFF = 0.5
PROBE_WORK_S = 0.05
"""Work of one health-endpoint answer: a probe with a 1 s timeout fails once the replica is 20x slower."""

SERVER_EFFECTS = ("slow_factor", "error_share", "wrong_share", "hang", "leak_mb_per_s", "leak_mb_per_request",
                  "poison_restart_s", "crash_loop_restart_s")
"""The effects every replica has (an LLM replica adds ``kv_fraction``)."""


class ServerBase:
    """A replica: accepts attempts, calls its dependency, serves them, replies, crashes and restarts."""

    kind = "server"
    effect_names: tuple[str, ...] = SERVER_EFFECTS

    __slots__ = (
        "world", "name", "pool", "zone", "queue_capacity", "model_load_s", "peers", "ejections", "policies",
        "breaker", "dependency", "dependency_calls", "_calls_dependency", "_dependency_name", "_on_dependency",
        "state", "serving", "incarnation", "outstanding", "load_watchers", "probe_watchers", "in_dependency",
        "slow_factor", "error_probability", "wrong_probability", "hung", "poison_restart_s", "poison_vulnerable",
        "_memory_watch", "stuck", "coin", "admission", "startup", "life", "memory", "effects", "_on_hi", "_on_lo",
        "_overloaded_by", "completed", "failed", "server_errors", "models", "waiting", "__dict__",
    )
    """A replica's fields in slots: one compact block per replica instead of a dictionary of some 60 keys each
    (a fleet of thousands touches one replica per event, so its size is memory traffic). ``__dict__`` stays
    for what a subclass or a test adds."""

    def __init__(self, world: World, name: str, pool: str, zone: str, queue_capacity: int, model_load_s: float,
                 *, dependency: Any = None, dependency_calls: int = 0, policies: ServerPolicies | None = None):
        self.world = world
        self.name = name
        self.pool = pool
        self.zone = zone
        self.queue_capacity = queue_capacity
        self.model_load_s = model_load_s
        self.peers: list[str] = []
        self.models: frozenset[str] | None = None
        """The models its pool serves (None: any); set by the assembly."""
        self.ejections: dict[str, int] = {}
        """Load balancer name → the transition that took this replica out of its rotation (for blame)."""
        self.policies = policies or ServerPolicies()
        self.breaker: Any = None
        """The circuit breaker around the dependency (``policies.dependency_guard``), or None."""
        if dependency is not None and self.policies.dependency_guard is not None:
            dependency = self.policies.dependency_guard(dependency, self._breaker_changed)
            self.breaker = dependency.breaker
        self.dependency = dependency
        self.dependency_calls = dependency_calls
        self._calls_dependency = dependency is not None and dependency_calls > 0
        self._dependency_name = None if dependency is None else dependency.name
        self._on_dependency = self._dependency_done
        """The bound callback handed to the dependency (made once, not per call)."""
        self.state = "healthy"
        """Written by the lifecycle only (with ``serving`` and ``incarnation``)."""
        self.serving = True
        self.incarnation = 0
        self.outstanding = 0
        """Attempts accepted and not yet replied to (dependency stage, waiting, running)."""
        self.load_watchers: list[Any] = []
        """Called with the replica whenever ``outstanding`` changes (a least_outstanding index keeps current)."""
        self.probe_watchers: list[Any] = []
        """Called with the replica whenever what its probes read may have changed (its lifecycle state, an
        effect): readiness checks probe only replicas whose outcome can have changed."""
        self.in_dependency: dict[Attempt, None] = {}
        """Attempts waiting on the dependency; a dict, not a set, so a crash fails them in arrival order
        (set order follows memory addresses and made same-seed runs differ)."""
        # What the request path reads of the effects, cached on every change (``_effect_changed``).
        self.slow_factor = 1.0
        self.error_probability = 0.0
        self.wrong_probability = 0.0
        self.hung = 0
        self.poison_restart_s = math.inf
        """Restart delay after a poison request crashes it (inf: not vulnerable)."""
        self.poison_vulnerable = False
        self._memory_watch = False
        """Mirrors ``memory.watching`` for the request path (the memory model sets it)."""
        self.stuck: list[Attempt] = []
        """Attempts a hung server finished computing but never answers (only a crash or timeout ends them)."""
        self.coin = UniformSampler(world.streams.lazy(name, "faults"))
        """Coin flips of software faults (error and wrong-answer shares): its stream is made at the first flip."""
        self.admission: Any = None
        """The waiting queue when a queue discipline other than the plain bounded FIFO was declared, else None."""
        self.startup: Any = None
        """Start-up queries to a shared database (``sim.components.startup.StartupQueries``), or None."""
        self.life = Lifecycle(self)
        self.memory = Memory(self)
        self.effects = Effects(self.effect_names, self._effect_set)
        self._on_hi = max(1, int(queue_capacity * OVERLOAD_ON)) if queue_capacity else math.inf
        """With no waiting room (a loss system) there is no queue to overload."""
        self._on_lo = int(queue_capacity * OVERLOAD_OFF)
        self._overloaded_by = ""
        """What made it overloaded: 'queue' (its waiting queue) or 'memory' (readiness failing on memory);
        each leaves overloaded by its own rule."""
        self.completed = 0
        self.failed = 0
        self.server_errors = 0
        """Of ``failed``: work this replica finished and answered with an error (a software fault or a bad
        version); not work lost to a crash, nor its dependency's errors or overload (what a rollout judges)."""
        world.set_state(name, "healthy", Cause("init", name, "initial", "deployed warm"))

    # --- effects ----------------------------------------------------------------------------------
    def _effect_set(self, name: str, value: float) -> None:
        self._effect_changed(name, value)
        self.probe_inputs_changed()

    def _effect_changed(self, name: str, value: float) -> None:
        """Cache what the request path reads; act on what a change means (a hang's end answers the held work)."""
        if name == "slow_factor":
            self.slow_factor = value
        elif name == "error_share":
            self.error_probability = value
        elif name == "wrong_share":
            self.wrong_probability = value
        elif name == "hang":
            self.hung = int(value)
            if not self.hung:
                stuck, self.stuck = self.stuck, []
                for att in stuck:  # the connections the hung process held are reset
                    self._reply(att, "server_error")
        elif name == "poison_restart_s":
            self.poison_restart_s = value
            self.poison_vulnerable = value < math.inf
        elif name in ("leak_mb_per_s", "leak_mb_per_request"):
            effects = self.effects
            parent = effects.parent("leak_mb_per_s")
            self.memory.leak_changed(effects["leak_mb_per_s"], effects["leak_mb_per_request"],
                                     parent if parent is not None else effects.parent("leak_mb_per_request"))

    def _new_waiting_queue(self) -> Any:
        """The waiting queue the policies declare: a plain deque for the bounded FIFO, else the discipline."""
        factory = self.policies.waiting_queue
        if factory is None:
            return deque()
        self.admission = factory(self.queue_capacity, self._reply)
        return self.admission

    def _breaker_changed(self, state: str) -> None:
        """Show the breaker on the timeline: open or half-open makes a healthy replica ``degraded`` (it
        answers, but fails fast every request that needs the dependency), closed makes it healthy again.
        The transition names the dependency's last transition as its parent (the cascade link)."""
        name = self.dependency.name
        if state != "closed":
            parent = self.world.timeline.last_transition.get(name)
            self.set_degraded(True, Cause("mechanism", self.name, "circuit_breaker",
                                          f"breaker to {name} {state}: failing fast",
                                          (parent,) if parent is not None else ()))
        else:
            self.set_degraded(False, Cause("mechanism", self.name, "circuit_breaker", f"breaker to {name} closed"))


    # --- the port: lifecycle verbs ------------------------------------------------------------------
    @property
    def holds(self) -> Holds:
        """Keys of what holds the replica out of service (read only: ``hold`` / ``release`` change them)."""
        return self.life.holds

    def crash(self, cause: Cause, restart_after_s: float | None) -> None:
        """Lose all in-flight work; restart after a delay (then cold start), or stay down."""
        self.life.crash(cause, restart_after_s)

    def start(self, reason: str = "process restarted, loading model") -> None:
        """Begin a cold start now (a provisioned replica), unless something holds it."""
        self.life.start(reason)

    def restart_after(self, delay_s: float, reason: str = "process restarted, loading model") -> None:
        """Start after ``delay_s`` unless this incarnation ends first (a new build on a down replica)."""
        self.life.restart_after(delay_s, reason)

    def hold(self, key: str, cause: Cause | None) -> None:
        """Hold out of service under ``key``: stopped at once when ``cause`` is given (no restart while held)."""
        self.life.hold(key, cause)

    def release(self, key: str, cause: Cause) -> bool:
        """Let go of ``key``; True when nothing holds it any more (a down replica then cold-starts)."""
        return self.life.release(key, cause.detail)

    def drain(self, cause: Cause, on_drained: Callable[[bool], None], grace_s: float | None = None,
              first_check_s: float = 1.0) -> None:
        """Readiness fails, in-flight work finishes, then ``on_drained(killed)`` (see ``Lifecycle.drain``)."""
        self.life.drain(cause, on_drained, grace_s, first_check_s)

    def restart_due(self) -> bool:
        return self.life.restart_due()

    @property
    def restart_at_s(self) -> float | None:
        return self.life.restart_at_s

    def set_degraded(self, degraded: bool, cause: Cause) -> None:
        """A policy the replica holds (its circuit breaker) fails fast: healthy → degraded, and back."""
        if degraded and self.state == "healthy":
            self.life.move("degraded", cause)
        elif not degraded and self.state == "degraded":
            self.life.move("healthy", cause)

    # --- probes ----------------------------------------------------------------------------------
    def probe_ok(self) -> bool:
        """Readiness: answers a health probe when serving, not hung, not draining and not above its
        readiness memory limit (pool ``memory.readiness_limit_mb``).

        Readiness failing on memory is a load-caused change: a healthy replica records ``overloaded``
        (naming what pushed it, ``load_cause``) and is healthy again at the first probe under the limit."""
        if self.serving and self.memory.too_full_for_readiness():
            if self.state == "healthy":
                used = self.memory.used_mb()
                detail, parents, loads = self.load_cause(
                    f"readiness failing: {used:,.0f} MB above the {self.memory.readiness_mb:,.0f} MB readiness "
                    f"limit with {self.outstanding} requests in flight")
                self._overloaded_by = "memory"
                self.life.move("overloaded", Cause("mechanism", self.name, "memory_pressure", detail, parents, loads))
            return False
        if self.state == "overloaded" and self._overloaded_by == "memory":
            self.life.move("healthy", Cause("mechanism", self.name, "memory_pressure",
                                            "memory back under the readiness limit"))
        return self.serving and not self.hung and self.state != "draining"

    def probe_volatile(self) -> bool:
        """Whether the probe outcome can change without a notice to ``probe_watchers``: readiness that
        follows memory in use (which grows with load and leaks)."""
        return self.memory.readiness_mb < math.inf

    def probe_inputs_changed(self) -> None:
        """Tell the readiness checks that what a probe reads may have changed (the lifecycle calls it at
        every move)."""
        for watcher in self.probe_watchers:
            watcher(self)

    def probe_latency_s(self) -> float:
        """Time the health endpoint takes to answer: PROBE_WORK_S scaled by the replica's slowness."""
        return PROBE_WORK_S * self.slow_factor

    def memory_mb(self) -> float:
        """Memory in use now (``Memory.used_mb``)."""
        return self.memory.used_mb()

    def set_memory(self, spec: Any) -> None:
        """The pool's own memory model (``MemorySpec``): memory grows with the work in flight, no leak."""
        self.memory.model(spec.limit_mb, spec.baseline_mb, spec.per_request_mb, spec.oom_restart_delay_s,
                          spec.readiness_limit_mb, spec.retained_share)

    # --- what the lifecycle asks of the replica ----------------------------------------------------
    def _lose_work(self) -> None:
        """The process is gone: every attempt it held fails, its leaked memory goes with it."""
        self._drop_all("server_error")
        stuck, self.stuck = self.stuck, []
        for att in stuck:
            self._reply(att, "server_error")
        for att in list(self.in_dependency):
            self._reply(att, "server_error")
        self.in_dependency.clear()
        self.memory.lost()

    def _loaded(self) -> None:
        """The model is loaded: run the start-up queries, or serve."""
        if self.startup is not None:
            self.startup.run(self.incarnation)
            return
        self.life.ready(Cause("mechanism", self.name, "cold_start", "model loaded"))

    def _serving_again(self) -> None:
        if self.memory.watching:
            self.memory.arm()

    # --- request path ----------------------------------------------------------------------------
    def submit(self, att: Attempt) -> None:
        """An attempt arrives from a load balancer."""
        att.server = self.name
        if not self.serving:
            att.reply(att, "server_error")
            return
        if self.poison_vulnerable and att.request.poison:
            self._poisoned(att)
            return
        if self.admission is None and self.queue_capacity:
            room = len(self.waiting) < self.queue_capacity  # the plain bounded FIFO (``_has_room``)
        else:
            room = self._has_room(att)
        if not room:
            att.reply(att, "rejected")
            return
        self.outstanding += 1
        if self.load_watchers:
            for watcher in self.load_watchers:
                watcher(self)
        if self._memory_watch:
            self.memory.on_request()
        if self._calls_dependency:
            network = self.world.network  # ``network.cut``, inline: a partition between the two of them
            if not network.unimpaired and network.cut(self.name, self._dependency_name):
                self._reply(att, "dependency_error")
                return
            self.in_dependency[att] = None
            self.dependency.call_for(
                att.request.user, self.zone, self._on_dependency, att, self.dependency_calls, self.incarnation
            )
        else:
            self._enqueue(att)

    def _dependency_done(self, att: Attempt, calls_left: int, incarnation: int, ok: bool) -> None:
        if incarnation != self.incarnation:
            return
        if not ok:
            self.in_dependency.pop(att, None)
            self._reply(att, "dependency_error")
            return
        if calls_left > 1:
            user = att.request.user
            self.dependency.call_for(user, self.zone, self._on_dependency, att, calls_left - 1, incarnation)
            return
        self.in_dependency.pop(att, None)
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
        if self.load_watchers:
            for watcher in self.load_watchers:
                watcher(self)
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
            self.server_errors += 1
            self._reply(att, "server_error")
        elif self.wrong_probability and self.coin() < self.wrong_probability:
            att.wrong = True
            self._reply(att, "success")
        else:
            self._reply(att, "success")

    def _check_load(self) -> None:
        """Overloaded / healthy hysteresis on the waiting queue."""
        q = self.queue_length()
        if self.state == "healthy" and q >= self._on_hi:
            detail, parents, loads = self.load_cause(f"queue {q}/{self.queue_capacity}")
            self._overloaded_by = "queue"
            self.life.move("overloaded", Cause("mechanism", self.name, "queueing", detail, parents, loads))
        elif self.state == "overloaded" and q <= self._on_lo and self._overloaded_by == "queue":
            self.life.move("healthy", Cause("mechanism", self.name, "queueing", f"queue drained to {q}"))

    def load_cause(self, what: str) -> tuple[str, tuple[int, ...], tuple[Load, ...]]:
        """What pushed this replica's load up, for a load-caused change (asked at the change only): the
        detail ``what`` plus the sources, the parent transitions (load shifted from peers, this replica's
        own overload), and the load sources of the clients that feed it (``sim.engine.blame``)."""
        world = self.world
        timeline = world.timeline
        peers, parents = shifted_from(timeline, world.components, self.peers)
        detail = what
        if peers:
            detail += "; load shifted from " + ", ".join(peers)
        if self.state == "overloaded":
            parents = (timeline.last_transition[self.name], *parents)
        loads = client_loads(feeding_clients(world.components, self.name), world.env.now, bool(parents))
        return detail + load_text(loads), parents, loads

    def _poisoned(self, att: Attempt) -> None:
        """A poison request reached a vulnerable server: it fails, and the process crashes with all its work."""
        att.reply(att, "server_error")
        req = att.request
        cause = Cause("mechanism", self.name, "poison_request",
                      f"crashed handling poison request {req.client}#{req.id} (attempt {att.number})",
                      (self.effects.parent("poison_restart_s"),))
        self.crash(cause, self.poison_restart_s)

    def _has_room(self, att: Attempt) -> bool:
        """Whether a new attempt may enter: the queue discipline decides (it may push out another entry),
        the plain FIFO has room below its bound. ``queue_capacity`` 0 means no waiting room at all, a loss
        system (M/M/c/c): an attempt enters only when a service slot is free."""
        if self.queue_capacity == 0:
            return self.slot_free()
        if self.admission is not None:
            return self.admission.admit(att)
        return self.queue_length() < self.queue_capacity

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind, "pool": self.pool, "zone": self.zone, "completed": self.completed,
                "failed": self.failed, "final_state": self.state}

    # --- for subclasses ----------------------------------------------------------------------------
    def slot_free(self) -> bool:
        """Whether one more attempt could start service now, counting those still at the dependency."""
        raise NotImplementedError

    def queue_length(self) -> int:
        raise NotImplementedError

    def _enqueue(self, att: Attempt) -> None:
        raise NotImplementedError

    def _drop_all(self, outcome: str) -> None:
        raise NotImplementedError

    def _cancel(self, att: Attempt) -> None:
        raise NotImplementedError
