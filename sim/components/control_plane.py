"""The control plane (Kubernetes API servers, say) that DNS / service discovery depends on: a queue with dynamics.

Its calls come from the fleet: a base load (controllers), a share per server node (kubelets, the
watches and lists of per-node agents), whatever faults add or multiply (a fleet-wide change, an
overload), and the retries of failed calls, each after its caller's backoff. It is a fluid FIFO
queue, advanced in steps of ``STEP_S`` while anything is queued or retrying (every ``CHECK_PERIOD_S``
while idle):

- calls arrive at the load's rate and wait ``queue / capacity``; above ``degraded_latency_s`` it is
  ``degraded``;
- the queue holds at most ``queue_limit_s`` of work; calls beyond are rejected at once (they fail);
- a call that waits longer than ``call_timeout_s`` fails (the caller gave up), but the server still
  does its work: while the wait exceeds the timeout nothing useful is served (``overloaded``,
  ``serving`` False) and discovery cannot refresh its records;
- every failed call is retried after its backoff (up to the callers' ``max_attempts``), so failures
  add load: with retries the load under failure is up to ``max_attempts`` times the fresh load,
  which can keep it overloaded after the trigger is gone (metastable) when that exceeds capacity.

Recovery is what the queue does: once the load falls below the capacity the queue drains at
``capacity - load`` and calls stop timing out when the wait falls below the timeout; nothing
restarts on a timer. Operators reach it through its port: ``set_capacity`` (add API servers),
``set_load`` (faults), ``serving`` / ``call_when_serving`` (a rollback that needs the control plane
waits for it: incident 8's lock-out).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.components.effects import Effects
from sim.components.lifecycle import Holds
from sim.engine.timeline import Cause, Load
from sim.engine.world import World
from sim.spec.control_plane import ControlPlaneSpec

STEP_S = 1.0
"""Step of the fluid queue while it is busy (anything queued, retrying, or load at capacity)."""
CHECK_PERIOD_S = 10.0
"""How often an idle control plane re-reads its load (the fleet can grow or shrink between changes)."""
_EPS_OPS = 1e-6


LOAD_EFFECTS = ("added_ops_s", "added_ops_per_node_s", "added_ops_per_node_sq_s", "load_multiplier")
"""The effects through which a fault adds calls (its key is the fault id)."""
RETRY_SHARE = 0.1
"""Retried calls are named as a load once they add more than this share to the fresh calls (as clients')."""


class ControlPlane:
    """A fluid queue of calls: load versus capacity, wait, timeouts, retries; ``serving`` is False while
    calls time out."""

    kind = "control_plane"

    def __init__(self, world: World, name: str, spec: ControlPlaneSpec, nodes: Callable[[], int],
                 pools: frozenset[str] | None = None):
        self.world = world
        self.name = name
        self.spec = spec
        self.nodes = nodes
        """How many nodes are up and calling it."""
        self.pools = pools
        """The pools whose nodes call it (None: every pool, the control plane of the clients' discovery)."""
        self.effects = Effects(("added_ops_s", "added_ops_per_node_s", "added_ops_per_node_sq_s", "load_multiplier",
                                "added_capacity_ops_s", "capacity_multiplier"))
        """What faults add to the load and multiply it by, and what operators add to its capacity, by source."""
        self.holds = Holds()
        self.zone: str | None = None
        self.serving = True
        self.state = "healthy"
        self.dependents: list[Any] = []
        self.queue_ops = 0.0
        """Calls waiting (operations)."""
        self.wait_s = 0.0
        """How long a call arriving now waits."""
        self.failed_share = 0.0
        """Share of the calls of the last step that failed (rejected or timed out)."""
        self.retry_ops_s = 0.0
        """Load from retries of failed calls (ops/s) in the last step."""
        self._impaired_tid: int | None = None
        """The control plane's latest degraded / overloaded transition (what its retried calls retry)."""
        self.peak_load_ops_s = 0.0
        self.peak_wait_s = 0.0
        self.overloaded_s = 0.0
        self.failed_ops = 0.0
        self.served_ops = 0.0
        retry = spec.retry
        self._levels = retry.max_attempts
        self._backoff_s = [min(retry.backoff_cap_s, retry.backoff_base_s * retry.multiplier ** k)
                           for k in range(self._levels)]
        self._ring = int(math.ceil((spec.call_timeout_s + retry.backoff_cap_s) / STEP_S)) + 3
        self._due = np.zeros((self._levels, self._ring))
        """Difference array of the retry rate (ops/s) per attempt level and future step (a ring)."""
        self._retry_rate = np.zeros(self._levels)
        self._n = 0
        self._last_due_step = -1
        """The last step with a retry-rate change scheduled (retries are outstanding until then)."""
        self._last_change: int | None = None
        self._waiters: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._timer: Any = None
        self._tick_at = math.inf
        world.set_state(name, "healthy", Cause("init", name, "initial", "serving"))
        self._schedule(CHECK_PERIOD_S)

    # --- the port ------------------------------------------------------------------------------------
    def load_ops_s(self) -> float:
        """Fresh load (retries not included), from the nodes there are now: (base + added + (per node + added
        per node) x N + added per node pair x N^2) x every multiplier."""
        effects = self.effects
        n = self.nodes()
        load = (self.spec.base_ops_s + effects["added_ops_s"]
                + (self.spec.ops_per_node_s + effects["added_ops_per_node_s"]) * n
                + effects["added_ops_per_node_sq_s"] * n * n)
        return load * effects["load_multiplier"]

    def capacity_now_ops_s(self) -> float:
        """Capacity now: (capacity + what operators added) x every capacity multiplier."""
        effects = self.effects
        return max(0.0, (self.spec.capacity_ops_s + effects["added_capacity_ops_s"]) * effects["capacity_multiplier"])

    def set_load(self, key: str, cause: Cause, added_ops_s: float = 0.0, multiplier: float = 1.0,
                 per_node_ops_s: float = 0.0, per_node_sq_ops_s: float = 0.0) -> None:
        """A fault adds load (or removes it, with the defaults): a fixed rate, a rate per node, a rate per node
        pair (work that grows with the cluster size on every node), or a multiplier; the per-node terms follow
        the fleet as it grows or shrinks. The change is recorded with its cause."""
        self._set_pair(key, "added_ops_s", added_ops_s, 0.0, "load_multiplier", multiplier)
        for name, value in (("added_ops_per_node_s", per_node_ops_s), ("added_ops_per_node_sq_s", per_node_sq_ops_s)):
            if value:
                self.effects.set(key, name, value)
            else:
                self.effects.clear(key, name)
        self._changed(cause)

    def set_capacity(self, key: str, cause: Cause, added_ops_s: float = 0.0, multiplier: float = 1.0) -> None:
        """Operators add API servers (or a fault takes some away, multiplier below 1); the defaults remove
        ``key``'s change. Recorded with its cause."""
        self._set_pair(key, "added_capacity_ops_s", added_ops_s, 0.0, "capacity_multiplier", multiplier)
        self._changed(cause)

    def covers(self, server: Any) -> bool:
        """Whether ``server``'s node calls this control plane."""
        return self.pools is None or server.pool in self.pools

    def call_when_serving(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as soon as calls succeed again (now, if they do): an action that needs the
        control plane (a rollback, a redeploy) waits for it."""
        if self.serving:
            self.world.call_later(0.0, fn, *args)
        else:
            self._waiters.append((fn, args))

    def hold(self, key: str, cause: Cause | None) -> None:
        """Nothing holds a control plane out of service (its queue takes it down)."""
        raise TypeError(f"{self.name}: a control plane is not held down; change its load or capacity")

    def release(self, key: str, cause: Cause) -> bool:
        return False

    # --- the queue -----------------------------------------------------------------------------------
    def _set_pair(self, key: str, add_name: str, added: float, neutral: float, mult_name: str, mult: float) -> None:
        effects = self.effects
        if added != neutral:
            effects.set(key, add_name, added)
        else:
            effects.clear(key, add_name)
        if mult != 1.0:
            effects.set(key, mult_name, mult)
        else:
            effects.clear(key, mult_name)

    def _changed(self, cause: Cause) -> None:
        detail = (f"load now {self.load_ops_s():,.0f} ops/s + {self.retry_ops_s:,.0f} retries "
                  f"(capacity {self.capacity_now_ops_s():,.0f})")
        self._last_change = self.world.set_state(
            self.name, self.state, Cause(cause.kind, cause.source, cause.mechanism, f"{cause.detail}; {detail}",
                                         cause.parents), force=True)
        self._schedule(STEP_S)

    def _schedule(self, delay_s: float) -> None:
        at = self.world.now + delay_s
        if at >= self._tick_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._tick_at = at
        self._timer = self.world.call_later(delay_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._tick_at = math.inf
        busy = self._step()
        self._schedule(STEP_S if busy else CHECK_PERIOD_S)

    def _step(self) -> bool:
        """Advance the queue by one step; True while anything is queued, retrying or at capacity."""
        spec = self.spec
        n = int(self.world.now // STEP_S)
        self._n = n
        slot = n % self._ring
        due = self._due[:, slot]
        if n <= self._last_due_step:
            self._retry_rate += due
            due[:] = 0.0
        np.maximum(self._retry_rate, 0.0, out=self._retry_rate)
        fresh = self.load_ops_s()
        retry_ops_s = float(self._retry_rate.sum())
        rates = self._retry_rate.copy()
        rates[0] += fresh
        arrivals = rates * STEP_S
        total = fresh + retry_ops_s
        mu = self.capacity_now_ops_s()
        queue = self.queue_ops
        wait = queue / mu if mu > 0 else math.inf
        space = max(0.0, mu * spec.queue_limit_s - queue) + mu * STEP_S
        arrived = total * STEP_S
        admitted_share = 1.0 if arrived <= space else space / arrived
        timed_out = wait > spec.call_timeout_s
        rejected = arrivals * (1.0 - admitted_share)
        for level in range(self._levels - 1):
            self._retry(level, rejected[level], 0.0)
            if timed_out:
                self._retry(level, arrivals[level] * admitted_share, spec.call_timeout_s)
        failed = rejected.sum() + (arrived * admitted_share if timed_out else 0.0)
        served = min(queue + arrived * admitted_share, mu * STEP_S)
        self.queue_ops = max(0.0, queue + arrived * admitted_share - mu * STEP_S)
        self.wait_s = wait
        self.retry_ops_s = retry_ops_s
        self.failed_share = failed / arrived if arrived > _EPS_OPS else 0.0
        self.failed_ops += failed
        if not timed_out:
            self.served_ops += served
        self.peak_load_ops_s = max(self.peak_load_ops_s, total)
        self.peak_wait_s = max(self.peak_wait_s, wait if math.isfinite(wait) else spec.call_timeout_s)
        if timed_out or mu <= 0:
            self.overloaded_s += STEP_S
            self._move("overloaded", (f"calls wait {wait:,.0f} s, past their {spec.call_timeout_s:g} s timeout: "
                                      f"{total:,.0f} ops/s ({retry_ops_s:,.0f} retries) on capacity {mu:,.0f}"))
        elif wait > spec.degraded_latency_s or admitted_share < 1.0:
            self._move("degraded", (f"calls wait {wait:,.1f} s, {1 - admitted_share:.0%} rejected: "
                                    f"{total:,.0f} ops/s ({retry_ops_s:,.0f} retries) on capacity {mu:,.0f}"))
        else:
            self._move("healthy", f"queue drained: {total:,.0f} ops/s on capacity {mu:,.0f}")
        return self.queue_ops > _EPS_OPS or n < self._last_due_step or retry_ops_s > _EPS_OPS or total >= mu

    def _retry(self, level: int, ops: float, after_s: float) -> None:
        """Failed calls of attempt ``level`` come back as attempt ``level + 1`` after their backoff."""
        if ops <= _EPS_OPS:
            return
        backoff = self._backoff_s[level]
        start = self._n + max(1, int(round(after_s / STEP_S)))
        width = max(1, int(round(backoff / STEP_S))) if self.spec.retry.jitter == "full" else 1
        if self.spec.retry.jitter == "none":
            start += max(0, int(round(backoff / STEP_S)) - 1)
        rate = ops / (width * STEP_S)
        due = self._due[level + 1]
        due[start % self._ring] += rate
        due[(start + width) % self._ring] -= rate
        self._last_due_step = max(self._last_due_step, start + width)

    def _move(self, state: str, detail: str) -> None:
        if state == self.state:
            return
        was_serving = self.serving
        self.state = state
        self.serving = state != "overloaded"
        impaired_before = self._impaired_tid
        parents = (self._last_change,) if self._last_change is not None and state != "healthy" else ()
        loads = self._loads(impaired_before, bool(parents)) if state != "healthy" else ()
        tid = self.world.set_state(self.name, state, Cause("mechanism", self.name, "capacity", detail, parents,
                                                           loads=loads))
        self._impaired_tid = tid if state != "healthy" else None
        if self.serving != was_serving:
            for dep in self.dependents:
                dep.control_plane_changed(self.serving, tid)
            if self.serving:
                waiters, self._waiters = self._waiters, []
                for fn, args in waiters:
                    fn(*args)

    def _loads(self, impaired_tid: int | None, has_parent: bool) -> tuple[Load, ...]:
        """What pushes the control plane, named at the change (load as a cause): each fault adding calls
        (its id), the retries of failed calls with their share; the nodes' own demand only when nothing
        else explains it (no such load and no recorded parent, e.g. a capacity loss)."""
        faults = {key for name in LOAD_EFFECTS for key, value in self.effects.sources(name).items()
                  if (value > 1.0 if name == "load_multiplier" else value > 0.0)}
        out = [Load("fault", key, f"calls added to {self.name}") for key in sorted(faults)]
        fresh = self.load_ops_s()
        if self.retry_ops_s > RETRY_SHARE * max(fresh, _EPS_OPS) and impaired_tid is not None:
            detail = f"{self.retry_ops_s:,.0f} ops/s of retried calls"
            if fresh > _EPS_OPS:
                detail += f" on {fresh:,.0f} fresh ({(fresh + self.retry_ops_s) / fresh:.1f} calls per call)"
            out.append(Load("retries", self.name, detail, (impaired_tid,)))
        if not out and not has_parent:
            out.append(Load("demand", f"nodes of {self.name}", f"{fresh:,.0f} ops/s from {self.nodes()} nodes"))
        return tuple(out)

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind, "peak_load_ops_s": round(self.peak_load_ops_s, 3),
                "peak_wait_s": round(self.peak_wait_s, 3), "overloaded_s": self.overloaded_s,
                "failed_ops": round(float(self.failed_ops), 3), "served_ops": round(float(self.served_ops), 3)}
