"""Horizontal autoscaling with the Kubernetes HPA algorithm, plus provisioning, model load and a GPU quota.

Every ``sync_period_s`` the autoscaler reads a per-replica metric over the serving replicas
(utilization: busy share; queue_length: waiting requests; kv_cache: share of KV cache in use) and
computes desired = ceil(ready * average / target), skipped when |average / target - 1| is within
``tolerance``. It is clamped to [min_replicas, max_replicas] and to what the GPU quota allows.
Scale-up is immediate (Kubernetes' default scale-up stabilization is 0), but a new replica serves
only after ``provisioning_delay_s`` (node and GPU) plus its model load, and after readiness probes.
Scale-down uses the highest recommendation of the last ``scale_down_stabilization_s``; removed
replicas leave the load balancers at once and finish their in-flight work (draining); they no longer
count as part of the pool, so the pool never goes below ``min_replicas`` while they drain. A removed
replica that is not serving (down, starting) goes at once; one still busy after
``TERMINATION_GRACE_S`` (a hung process) is killed, failing what it held (the replica's one drain,
``drain`` on its port). A replica provisioned in a zone that is out (the fault ledger's
``zone_outages``) is held down by those outages and starts when the zone is back.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from sim.engine.timeline import Cause
from sim.resilience.controllers.provisioning import Provisioner
from sim.resilience.registry import Registry
from sim.spec.policies import AutoscalingSpec

TERMINATION_GRACE_S = 30.0
"""How long a removed replica may drain before it is killed (Kubernetes terminationGracePeriodSeconds)."""

SCALING_METRICS: Registry[Callable[[Any], float]] = Registry("autoscaling metric")


@SCALING_METRICS.register("utilization")
def utilization(server: Any) -> float:
    """Busy share: running requests over slots (plain) or over the batch limit (LLM)."""
    if hasattr(server, "concurrency"):
        return server.busy / server.concurrency
    return server.batch / server.max_batch


@SCALING_METRICS.register("queue_length")
def queue_length(server: Any) -> float:
    """Requests waiting in the replica's queue."""
    return float(server.queue_length())


@SCALING_METRICS.register("kv_cache")
def kv_cache(server: Any) -> float:
    """Share of the KV cache in use (0 for a plain server)."""
    if hasattr(server, "kv_capacity"):
        return server.kv_used_tokens / server.kv_capacity
    return 0.0


def hpa_desired(ready: int, average: float, target: float, tolerance: float) -> int | None:
    """The HPA formula; None when the ratio is within tolerance (no change)."""
    ratio = average / target
    if abs(ratio - 1.0) <= tolerance:
        return None
    return math.ceil(ready * ratio)


class HorizontalPodAutoscaler:
    """Scales one pool (see the module docstring). ``make_replica(index)`` builds a new replica."""

    def __init__(self, spec: AutoscalingSpec, pool: str, replicas: list[Any], initial: int,
                 make_replica: Callable[[int], Any], balancers: list[Any], provisioner: Provisioner | None = None):
        self.spec = spec
        self.pool = pool
        self.replicas = replicas
        self.balancers = balancers
        self.provisioner = provisioner or Provisioner(pool, replicas, initial, make_replica, balancers)
        """The pool's provisioning path, shared with operators who scale the pool by hand."""
        self.min_replicas = spec.min_replicas or initial
        self.max_replicas = spec.max_replicas
        if spec.gpu_quota is not None:
            self.max_replicas = min(self.max_replicas, spec.gpu_quota // spec.gpus_per_replica)
        self.leaving: set[str] = set()
        """Replicas chosen by a scale-down, draining until their work is done: no longer part of the pool."""
        self._recommendations: deque[tuple[float, int]] = deque()
        self.events: list[tuple[float, str, int]] = []
        """(time, 'up' or 'down', replicas after) for every scaling decision."""
        self.quota_capped = 0
        """Syncs where the GPU quota (not max_replicas) stopped a scale-up."""
        self._world: Any = None

    def start(self, world: Any) -> None:
        self._world = world
        self.provisioner.start(world)
        world.call_later(self.spec.sync_period_s, self._sync)

    @property
    def provisioning(self) -> int:
        """Replicas asked for and not yet provisioned (by the autoscaler or by operators)."""
        return self.provisioner.provisioning

    def current(self) -> int:
        """Replicas the pool has or is getting: those not leaving, plus those being provisioned
        (as the Kubernetes scale, which terminating pods have already left)."""
        return len(self.replicas) - len(self.leaving) + self.provisioning

    def _sync(self) -> None:
        spec = self.spec
        world = self._world
        now = world.now
        metric = SCALING_METRICS.get(spec.metric)
        ready = [s for s in self.replicas if s.serving and s.state != "draining"]
        current = self.current()
        desired = current
        if ready:
            average = sum(metric(s) for s in ready) / len(ready)
            wanted = hpa_desired(len(ready), average, spec.target, spec.tolerance)
            if wanted is not None:
                desired = wanted if wanted > current or wanted < len(ready) else current
        unclamped = desired
        desired = max(self.min_replicas, min(self.max_replicas, desired))
        if unclamped > desired and desired < spec.max_replicas and spec.gpu_quota is not None:
            self.quota_capped += 1
        self._recommendations.append((now, desired))
        while self._recommendations and self._recommendations[0][0] < now - spec.scale_down_stabilization_s:
            self._recommendations.popleft()
        if desired > current:
            for _ in range(desired - current):
                self.provisioner.provision(spec.provisioning_delay_s, f"scaled up by the {self.pool} autoscaler",
                                           "scaled up by the autoscaler")
            self.events.append((now, "up", desired))
        else:
            stable = max(d for _, d in self._recommendations)
            if stable < current:
                self._scale_down(current - stable)
        world.call_later(spec.sync_period_s, self._sync)

    def _scale_down(self, count: int) -> None:
        victims = [s for s in reversed(self.replicas) if s.name not in self.leaving][:count]
        for server in victims:
            self.leaving.add(server.name)
            for lb in self.balancers:
                if server in lb.servers:
                    lb.remove_server(server, "scaled down by the autoscaler")
            if not server.serving:  # down or starting: nothing to drain
                self._retire(server, False)
                continue
            parent = self._world.timeline.last_transition.get(server.name)
            server.drain(Cause("mechanism", self.pool, "autoscaling", "scale-down: draining",
                               (parent,) if parent is not None else ()),
                         partial(self._retire, server), grace_s=TERMINATION_GRACE_S)
        if victims:
            self.events.append((self._world.now, "down", self.current()))

    def _retire(self, server: Any, killed: bool) -> None:
        """Remove a scaled-down replica once its work is done, or kill it after the grace period (``killed``):
        held down for good under ``scaled_down`` (no restart, whatever ends later)."""
        if server in self.replicas:
            self.replicas.remove(server)
        self.leaving.discard(server.name)
        if killed:
            parent = self._world.timeline.last_transition.get(server.name)
            cause = Cause("mechanism", self.pool, "autoscaling",
                          f"scale-down: still busy after the {TERMINATION_GRACE_S:g} s grace period, killed",
                          (parent,) if parent is not None else ())
        else:
            cause = Cause("mechanism", self.pool, "autoscaling", "scale-down: removed")
        server.hold("scaled_down", cause)
