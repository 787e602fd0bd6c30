"""A replica's memory: baseline + leaked + per-request memory of the work in flight, against a limit.

The figures come from the pool (``pools[].memory``) or, for a replica without a memory model, from
the first memory leak that reaches it. Leak rates are effects of the replica (``leak_mb_per_s``,
``leak_mb_per_request``: sources add), so two leaks leak at the sum of their rates and the end of
one leaves the other. Above the limit the process is OOM-killed (the replica's crash, naming the
leak's transition) and restarts after ``oom_restart_delay_s``; what leaked is gone with the process.

A process may keep memory its requests no longer use (``retained_share`` of the highest per-request
memory it has held: an allocator that does not give freed pages back to the system, a fragmented
heap). New requests reuse it, so it does not bring the OOM kill nearer, but it counts as memory in use
(readiness reads it) until the process restarts.

Cost: nothing on the request path unless a model is on (``watching``); then one addition per
request, and one timer for the moment a time-based leak alone would cross the limit.
"""

from __future__ import annotations

import math
from typing import Any

from sim.engine.timeline import Cause


class Memory:
    """The memory model of one replica (see the module docstring)."""

    def __init__(self, server: Any):
        self.server = server
        self.world = server.world
        self.limit_mb = math.inf
        self.baseline_mb = 0.0
        self.per_request_mb = 0.0
        self.oom_restart_delay_s = 10.0
        self.readiness_mb = math.inf
        """Readiness probes fail while memory in use is above this (pool ``memory``; inf: never)."""
        self.leaked_mb = 0.0
        self.retained_share = 0.0
        """Share of the peak per-request memory the process keeps once its requests end (0: gives it all back)."""
        self.peak_in_flight_mb = 0.0
        """The highest per-request memory this process has held (since it started)."""
        self.leak_mb_per_s = 0.0
        self.leak_mb_per_request = 0.0
        self.oom_kills = 0
        self.parent: int | None = None
        """The transition that brought the latest leak (an OOM kill names it, even after the leak ended:
        what it leaked is still there)."""
        self.watching = False
        """A model is on (the pool's, or a leak's): requests are counted against the limit."""
        self._t_s = 0.0
        self._timer: Any = None

    def model(self, limit_mb: float, baseline_mb: float, per_request_mb: float, oom_restart_delay_s: float,
              readiness_mb: float | None = None, retained_share: float = 0.0) -> None:
        """Take these figures as the model and turn it on."""
        self.limit_mb = limit_mb
        self.baseline_mb = baseline_mb
        self.per_request_mb = per_request_mb
        self.oom_restart_delay_s = oom_restart_delay_s
        self.retained_share = retained_share
        if readiness_mb is not None:
            self.readiness_mb = readiness_mb
        self._watch()

    def model_if_absent(self, limit_mb: float, baseline_mb: float, per_request_mb: float,
                        oom_restart_delay_s: float) -> None:
        """A leak's figures: the model of a replica that has none (a pool's own model is kept)."""
        if not self.watching:
            self.model(limit_mb, baseline_mb, per_request_mb, oom_restart_delay_s)

    def _watch(self) -> None:
        self.watching = True
        self.server._memory_watch = True  # the replica's request path reads this mirror
        self._t_s = self.world.env.now
        self._cancel_timer()
        if self.server.serving:
            self.arm()

    def used_mb(self) -> float:
        """Memory in use now: baseline + leaked (per request and over time) + per-request memory in flight, or
        what the process retained of its peak when that is more."""
        if self.leak_mb_per_s:
            now = self.world.env.now
            if self.server.serving:
                self.leaked_mb += self.leak_mb_per_s * (now - self._t_s)
            self._t_s = now
        in_flight = self.server.outstanding * self.per_request_mb
        return self.baseline_mb + self.leaked_mb + max(in_flight, self.retained_share * self.peak_in_flight_mb)

    def leak_changed(self, per_s: float, per_request: float, parent: int | None) -> None:
        """The leak rates (combined over their sources) changed: count what leaked at the old rate, re-arm.
        ``parent``: the transition of the latest leak still active (None: none left)."""
        self.used_mb()
        if parent is not None:
            self.parent = parent
        self.leak_mb_per_s = per_s
        self.leak_mb_per_request = per_request
        if self.watching and self.server.serving:
            self.arm()

    def arm(self) -> None:
        """Schedule the moment a time-based leak alone would cross the limit (re-checked then)."""
        self._t_s = self.world.env.now
        self._cancel_timer()
        if self.leak_mb_per_s > 0:
            room = self.limit_mb - self.used_mb()
            self._timer = self.world.call_later(max(0.0, room) / self.leak_mb_per_s + 1e-9, self._leak_check)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _leak_check(self) -> None:
        self._timer = None
        if self.server.serving and not self.check():
            self.arm()

    def on_request(self) -> None:
        """One request accepted: add its leak, raise the peak; above the limit, check at once (after the current
        event). Retained memory is reused by new requests, so the per-request memory in flight decides."""
        self.leaked_mb += self.leak_mb_per_request
        in_flight = self.server.outstanding * self.per_request_mb
        if in_flight > self.peak_in_flight_mb:
            self.peak_in_flight_mb = in_flight
        if self.baseline_mb + self.leaked_mb + in_flight > self.limit_mb:
            self.server.life.timers.call_later(0.0, self.check)

    def check(self) -> bool:
        """OOM-kill the process if its memory is above the limit; True when it was killed."""
        server = self.server
        if not server.serving:
            return False
        used = self.used_mb()
        if used <= self.limit_mb:
            return False
        self.oom_kills += 1
        detail = f"OOM-killed: {used:,.0f} MB above the {self.limit_mb:,.0f} MB limit"
        leak = (self.parent,) if self.parent is not None else ()
        parents, loads = leak, ()
        if self.per_request_mb and server.outstanding:  # the work in flight counts: its load is to blame too
            detail, pushed, loads = server.load_cause(f"{detail} with {server.outstanding} requests in flight")
            parents = leak + tuple(p for p in pushed if p not in leak)
        server.crash(Cause("mechanism", server.name, "oom", detail, parents, loads), self.oom_restart_delay_s)
        return True

    def lost(self) -> None:
        """The process is gone: what leaked or was retained goes with it, and the leak timer with the incarnation."""
        self.leaked_mb = 0.0
        self.peak_in_flight_mb = 0.0
        self._cancel_timer()

    def too_full_for_readiness(self) -> bool:
        """Memory in use is above the readiness limit (probes fail)."""
        return self.readiness_mb < math.inf and self.used_mb() > self.readiness_mb
