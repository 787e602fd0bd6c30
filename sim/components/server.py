"""What every server replica shares: lifecycle state machine, dependency calls, replies, overload.

Lifecycle: starting (cold start: model load) → healthy ⇄ overloaded (waiting queue above 90 % of its
bound; back below 50 %) → down (crash) → starting … Every transition records its cause.
Subclasses implement the service discipline: ``_enqueue`` (accept work), ``_drop_all`` (lose it on
a crash), ``_cancel`` and ``queue_length``.
"""

from __future__ import annotations

import math
from typing import Any

from sim.engine.distributions import UniformSampler
from sim.engine.request import Attempt
from sim.engine.timeline import Cause
from sim.engine.world import World

OVERLOAD_ON = 0.9
OVERLOAD_OFF = 0.5
SERVING_STATES = frozenset(("healthy", "overloaded", "degraded", "draining"))
PROBE_WORK_S = 0.05
"""Work of one health-endpoint answer: a probe with a 1 s timeout fails once the replica is 20x slower."""


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
        self.ejections: dict[str, int] = {}
        """Load balancer name → the transition that took this replica out of its rotation (for blame)."""
        self.dependency: Any = None
        self.dependency_calls = 0
        self.state = "healthy"
        self.incarnation = 0
        self.outstanding = 0
        """Attempts accepted and not yet replied to (dependency stage, waiting, running)."""
        self.load_watchers: list[Any] = []
        """Called with the replica whenever ``outstanding`` changes (a least_outstanding index keeps current)."""
        self.in_dependency: dict[Attempt, None] = {}
        """Attempts waiting on the dependency; a dict, not a set, so a crash fails them in arrival order
        (set order follows memory addresses and made same-seed runs differ)."""
        self.slow_factor = 1.0
        self.error_probability = 0.0
        self.hung = 0
        """How many hang faults or bugs hold the process hung (each lets go of its own; 0: answering)."""
        self.held_down: set[str] = set()
        """Keys of the faults holding the replica down (zone outage, lost GPU...): it restarts only when empty."""
        self.restart_at_s: float | None = None
        """When a pending automatic restart is due (None: none pending)."""
        self.stuck: list[Attempt] = []
        """Attempts a hung server finished computing but never answers (only a crash or timeout ends them)."""
        self.coin = UniformSampler(world.streams.get(name, "faults"))
        self.admission: Any = None
        """A shedding policy's AdmissionQueue (also the waiting queue), or None for the plain bounded FIFO."""
        self.wrong_probability = 0.0
        self.startup: Any = None
        """Start-up queries to a shared database (``sim.components.startup.StartupQueries``), or None."""
        self.crash_on_start: tuple[int, float] | None = None
        """Set by a crash-loop bug: (transition that caused it, restart delay); the server crashes on every start."""
        self.poison_parent: int | None = None
        """Set by a poison-request fault: the transition that made this server vulnerable (None: immune)."""
        self.poison_restart_delay_s = 10.0
        self.memory_limit_mb = math.inf
        """Memory model (set by memory faults): baseline + leaked + per-request memory in flight vs the limit."""
        self.memory_baseline_mb = 0.0
        self.memory_per_request_mb = 0.0
        self.leak_mb_per_request = 0.0
        self.leak_mb_per_s = 0.0
        self.leaked_mb = 0.0
        self.memory_parent: int | None = None
        self.oom_restart_delay_s = 10.0
        self.readiness_memory_mb = math.inf
        """Readiness probes fail while memory in use is above this (pool ``memory``; inf: never)."""
        self.oom_kills = 0
        self._memory_watch = False
        self._leak_t_s = 0.0
        self._leak_token = 0
        self._on_hi = max(1, int(queue_capacity * OVERLOAD_ON)) if queue_capacity else math.inf
        """With no waiting room (a loss system) there is no queue to overload."""
        self._on_lo = int(queue_capacity * OVERLOAD_OFF)
        self.completed = 0
        self.failed = 0
        self.server_errors = 0
        """Of ``failed``: work this replica finished and answered with an error (a software fault or a bad
        version); not work lost to a crash, nor its dependency's errors or overload (what a rollout judges)."""
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
        """Readiness: answers a health probe when serving, not hung, not draining and not above its
        readiness memory limit (pool ``memory.readiness_limit_mb``)."""
        if self.readiness_memory_mb < math.inf and self.serving and self.memory_mb() > self.readiness_memory_mb:
            return False
        return self.serving and not self.hung and self.state != "draining"

    def probe_latency_s(self) -> float:
        """Time the health endpoint takes to answer: PROBE_WORK_S scaled by the replica's slowness."""
        return PROBE_WORK_S * self.slow_factor

    def crash(self, cause: Cause, restart_after_s: float | None) -> None:
        """Lose all in-flight work; restart after a delay (then cold start), or stay down.

        A fault hitting a replica that is already down is recorded (a forced transition naming it, a
        cascade root); the replica stays down and any restart already due keeps its time.
        """
        if self.state == "down":
            if cause.kind == "fault":
                self.world.set_state(self.name, "down", cause, force=True)
            return
        self.incarnation += 1
        self._drop_all("server_error")
        stuck, self.stuck = self.stuck, []
        for att in stuck:
            self._reply(att, "server_error")
        for att in list(self.in_dependency):
            self._reply(att, "server_error")
        self.in_dependency.clear()
        self.leaked_mb = 0.0
        self._leak_token += 1
        self._set_state("down", cause)
        self.restart_at_s = None if restart_after_s is None else self.world.env.now + restart_after_s
        if restart_after_s is not None:
            self.world.call_later(restart_after_s, self.start, self.incarnation)

    def restart_due(self) -> bool:
        """Whether nothing but the holds keeps this down replica from starting: no restart is still pending
        (a released hold must not bring forward a restart delay or a crash-loop back-off)."""
        return self.restart_at_s is None or self.restart_at_s <= self.world.env.now

    def start(self, incarnation: int | None = None, reason: str = "process restarted, loading model") -> None:
        """Begin a (re)start: the model loads for model_load_s (cold start), then the replica serves."""
        if (incarnation is not None and incarnation != self.incarnation) or self.held_down:
            return
        self.restart_at_s = None
        self.incarnation += 1
        why = Cause("mechanism", self.name, "restart", reason, (self.world.timeline.last_transition[self.name],))
        self._set_state("starting", why)
        self.world.call_later(self.model_load_s, self._loaded, self.incarnation)

    def _loaded(self, incarnation: int) -> None:
        if incarnation != self.incarnation or self.state != "starting":
            return
        if self.startup is not None:
            self.startup.run(incarnation)
            return
        self._ready(incarnation, Cause("mechanism", self.name, "cold_start", "model loaded"))

    def _ready(self, incarnation: int, cause: Cause) -> None:
        """Start-up finished (model loaded, start-up queries done): serve, unless a crash-loop bug kills it."""
        if self.held_down:  # a fault took hold while it was starting: it does not come up
            self.crash(Cause("mechanism", self.name, "held_down", "stopped at the end of start-up: still held down",
                             (self.world.timeline.last_transition[self.name],)), None)
            return
        if self.crash_on_start is not None:
            parent, delay_s = self.crash_on_start
            self.crash(Cause("mechanism", self.name, "crash_loop", "crashed while starting: bad build or config",
                             (parent,)), delay_s)
            return
        self._set_state("healthy", cause)
        if self._memory_watch:
            self.arm_leak_timer()

    # --- request path ----------------------------------------------------------------------------
    def submit(self, att: Attempt) -> None:
        """An attempt arrives from a load balancer."""
        att.server = self.name
        if not self.serving:
            att.reply(att, "server_error")
            return
        if self.poison_parent is not None and att.request.poison:
            self._poisoned(att)
            return
        if self.admission is not None:
            if not self.admission.admit(att):
                att.reply(att, "rejected")
                return
        elif not self._has_room():
            att.reply(att, "rejected")
            return
        self.outstanding += 1
        if self.load_watchers:
            for watcher in self.load_watchers:
                watcher(self)
        if self._memory_watch:
            self._memory_on_request()
        if self.dependency is not None and self.dependency_calls > 0:
            if self.world.network.cut(self.name, self.dependency.name):
                self._reply(att, "dependency_error")
                return
            self.in_dependency[att] = None
            self.dependency.call_for(
                att.request.user, self.zone, self._dependency_done, att, self.dependency_calls, self.incarnation
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
            self.dependency.call_for(user, self.zone, self._dependency_done, att, calls_left - 1, incarnation)
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
            peers, parents = self._shifted_from()
            detail = f"queue {q}/{self.queue_capacity}"
            if peers:
                detail += "; load shifted from " + ", ".join(peers)
            self._set_state("overloaded", Cause("mechanism", self.name, "queueing", detail, parents))
        elif self.state == "overloaded" and q <= self._on_lo:
            self._set_state("healthy", Cause("mechanism", self.name, "queueing", f"queue drained to {q}"))

    def _shifted_from(self) -> tuple[list[str], tuple[int, ...]]:
        """Peers whose load moved here, and the transitions that moved it: a peer down or starting (its
        transition), and a peer a load balancer ejected (the ejection). An overloaded or degraded peer
        still takes its share, so it is not blamed."""
        timeline = self.world.timeline
        components = self.world.components
        names: list[str] = []
        parents: list[int] = []
        for name in self.peers:
            moved = False
            if timeline.current.get(name) in ("down", "starting"):
                parents.append(timeline.last_transition[name])
                moved = True
            peer = components.get(name)
            for tid in getattr(peer, "ejections", {}).values():
                if tid not in parents:
                    parents.append(tid)
                moved = True
            if moved:
                names.append(name)
        return names, tuple(parents)

    # --- fault hooks: poison requests and memory ----------------------------------------------------
    def _poisoned(self, att: Attempt) -> None:
        """A poison request reached a vulnerable server: it fails, and the process crashes with all its work."""
        att.reply(att, "server_error")
        req = att.request
        cause = Cause("mechanism", self.name, "poison_request",
                      f"crashed handling poison request {req.client}#{req.id} (attempt {att.number})",
                      (self.poison_parent,))
        self.crash(cause, self.poison_restart_delay_s)

    def memory_mb(self) -> float:
        """Memory in use now: baseline + leaked (per request and over time) + per-request memory in flight."""
        if self.leak_mb_per_s:
            now = self.world.env.now
            if self.serving:
                self.leaked_mb += self.leak_mb_per_s * (now - self._leak_t_s)
            self._leak_t_s = now
        return self.memory_baseline_mb + self.leaked_mb + self.outstanding * self.memory_per_request_mb

    def set_memory(self, spec: Any) -> None:
        """The pool's own memory model (``MemorySpec``): memory grows with the work in flight, no leak."""
        self.memory_limit_mb = spec.limit_mb
        self.memory_baseline_mb = spec.baseline_mb
        self.memory_per_request_mb = spec.per_request_mb
        self.oom_restart_delay_s = spec.oom_restart_delay_s
        if spec.readiness_limit_mb is not None:
            self.readiness_memory_mb = spec.readiness_limit_mb
        self.watch_memory(True)

    def watch_memory(self, on: bool) -> None:
        """Turn the memory model on (a memory fault set its figures) or off."""
        self._memory_watch = on
        self._leak_t_s = self.world.env.now
        self._leak_token += 1
        if on and self.serving:
            self.arm_leak_timer()

    def arm_leak_timer(self) -> None:
        """Schedule the moment a time-based leak alone would cross the limit (re-checked then)."""
        self._leak_t_s = self.world.env.now
        self._leak_token += 1
        if self.leak_mb_per_s > 0:
            room = self.memory_limit_mb - self.memory_mb()
            self.world.call_later(max(0.0, room) / self.leak_mb_per_s + 1e-9, self._leak_check, self._leak_token)

    def _leak_check(self, token: int) -> None:
        if token == self._leak_token and self.serving:
            if not self._check_memory():
                self.arm_leak_timer()

    def _memory_on_request(self) -> None:
        self.leaked_mb += self.leak_mb_per_request
        if self.memory_baseline_mb + self.leaked_mb + self.outstanding * self.memory_per_request_mb \
                > self.memory_limit_mb:
            self.world.call_later(0.0, self._check_memory, self.incarnation)

    def _check_memory(self, incarnation: int | None = None) -> bool:
        """OOM-kill the process if its memory is above the limit; True when it was killed."""
        if (incarnation is not None and incarnation != self.incarnation) or not self.serving:
            return False
        used = self.memory_mb()
        if used <= self.memory_limit_mb:
            return False
        self.oom_kills += 1
        parents = (self.memory_parent,) if self.memory_parent is not None else ()
        cause = Cause("mechanism", self.name, "oom",
                      f"OOM-killed: {used:,.0f} MB above the {self.memory_limit_mb:,.0f} MB limit", parents)
        self.crash(cause, self.oom_restart_delay_s)
        return True

    def _has_room(self) -> bool:
        """Whether a new attempt may enter the plain bounded FIFO. ``queue_capacity`` 0 means no waiting
        room at all, a loss system (M/M/c/c): an attempt enters only when a service slot is free."""
        if self.queue_capacity == 0:
            return self.slot_free()
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
