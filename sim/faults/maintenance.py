"""Maintenance and change: a rolling deploy of a bad build, draining too many servers, a bad config
pushed globally, an OS update that cuts networking, a fleet-wide change that loads the control plane.

Each changes what operators change (which build or config runs where, which servers are in
service, how much the fleet asks of the control plane); the bug a bad build carries acts through
the same flags as the software faults, and everything after that is left to the mechanisms.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sim.engine.timeline import Cause
from sim.faults.base import FAULTS, Fault, bring_back, hold_key, take_down
from sim.faults.software import apply_bug, remove_bug

READY_POLL_S = 5.0
"""How often a stalled rollout checks whether its batch became ready."""


@FAULTS.register("bad_deploy")
class BadDeploy(Fault):
    """Roll the bad build over the targets in batches; the window's end rolls the bug back (no restart)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.updated: list[Any] = []

    def start(self) -> None:
        self.pending = list(self.ctx.targets)
        self._batch()

    def _batch(self) -> None:
        if not self.pending:
            return
        spec = self.ctx.spec
        world = self.ctx.world
        timers = self.ctx.timers
        surge = self.pending[: spec.max_surge]
        unavailable = self.pending[spec.max_surge: spec.max_surge + spec.max_unavailable]
        self.pending = self.pending[len(surge) + len(unavailable):]
        crash_loop = spec.bug.kind == "crash_loop"
        for server in unavailable:
            detail = "rolling deploy: replacing the process with the new build"
            if server.state == "down":  # already down: the new build is installed and started anyway
                tid = self.ctx.mark(server.name, detail)
                server.restart_after(spec.restart_delay_s)
            else:
                server.crash(self.ctx.cause(detail), spec.restart_delay_s)
                tid = world.timeline.last_transition[server.name]
            apply_bug(self.ctx, server, spec.bug, tid)
            self.updated.append(server)
        for server in surge:
            if crash_loop:
                continue  # the surge replica never becomes ready; the old one keeps serving and the rollout stalls
            warm_s = spec.restart_delay_s + server.model_load_s
            timers.call_later(warm_s, self._switch, server)
        batch = unavailable + surge
        timers.call_later(spec.restart_delay_s + max((s.model_load_s for s in batch), default=0.0),
                          self._check_ready, batch, crash_loop and bool(surge))

    def end_on(self, target: Any, detail: str) -> None:
        """Roll one replica back to the good build (its bug goes; a rollback restarts it meanwhile)."""
        if target in self.updated:
            self.updated.remove(target)
        super().end_on(target, detail)

    def _switch(self, server: Any) -> None:
        tid = self.ctx.mark(server.name, "rolling deploy: traffic switched to the new build (surge replica)")
        apply_bug(self.ctx, server, self.ctx.spec.bug, tid)
        self.updated.append(server)

    def _check_ready(self, batch: list[Any], stalled: bool) -> None:
        if stalled or not all(s.serving for s in batch):
            self.ctx.timers.call_later(READY_POLL_S, self._check_ready, batch, stalled)
            return
        self.ctx.timers.call_later(self.ctx.spec.batch_interval_s, self._batch)

    def stop(self) -> None:
        for server in self.updated:
            remove_bug(self.ctx, server)
        self.updated = []


@FAULTS.register("drain")
class Drain(Fault):
    """The targets go draining at once: readiness fails, they finish their work, then stop until the end.

    The drain holds its targets for the window (one already down stays down until the end, and comes
    back then only if nothing else holds it). The drain itself is the replica's (``drain`` on its port).
    """

    def start(self) -> None:
        key = self.ctx.source
        for server in self.ctx.targets:
            if server.serving:
                server.hold(key, None)
                server.drain(self.ctx.cause("drained for maintenance"), partial(self._drained, server))
            elif server.state == "starting":
                server.hold(key, self.ctx.cause("drained while starting: stopped"))
            else:
                server.hold(key, self.ctx.cause("drained (already down): held down for the window"))

    def _drained(self, server: Any, killed: bool) -> None:
        """No work left (or no longer draining: a crash came first): stop, still held for the window."""
        if server.state == "draining" and key_held(server, self.ctx.source):
            parent = self.ctx.world.timeline.last_transition[server.name]
            server.crash(Cause("mechanism", server.name, "drain", "drained: stopped with no work left", (parent,)),
                         None)

    def stop(self) -> None:
        for server in self.ctx.targets:
            if server.state == "draining":
                server.crash(self.ctx.cause("maintenance over: restarting"), None)
            bring_back(self.ctx, server, "maintenance over")


def key_held(comp: Any, key: str) -> bool:
    """Whether ``key`` still holds ``comp`` (this window's drain is not over)."""
    return key in comp.holds


@FAULTS.register("config_push")
class ConfigPush(Fault):
    """The bad config reaches the targets one after another (random order) over propagation_s."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.reached: list[Any] = []

    def start(self) -> None:
        targets = list(self.ctx.targets)
        rng = self.ctx.world.streams.get(self.ctx.spec.id, "order")
        order = [targets[i] for i in rng.permutation(len(targets)).tolist()]
        n = len(order)
        for i, server in enumerate(order):
            delay = self.ctx.spec.propagation_s * i / n
            if delay <= 0:
                self._arrive(server)
            else:
                self.ctx.timers.call_later(delay, self._arrive, server)

    def end_on(self, target: Any, detail: str) -> None:
        """The good config back on one replica."""
        if target in self.reached:
            self.reached.remove(target)
        super().end_on(target, detail)

    def _arrive(self, server: Any) -> None:
        bug = self.ctx.spec.bug
        if bug.kind == "crash_loop" and server.state != "down":
            server.crash(self.ctx.cause("bad config loaded: process crashed"), bug.restart_delay_s)
            tid = self.ctx.world.timeline.last_transition[server.name]
        else:
            tid = self.ctx.mark(server.name, "bad config arrived")
        apply_bug(self.ctx, server, bug, tid)
        self.reached.append(server)

    def stop(self) -> None:
        for server in self.reached:
            remove_bug(self.ctx, server)
        self.reached = []


@FAULTS.register("os_update")
class OSUpdate(Fault):
    """Networking is cut on the targets at once; re-imaging brings them back one by one at a limited rate."""

    @property
    def instant(self) -> bool:
        return True

    def start(self) -> None:
        spec = self.ctx.spec
        world = self.ctx.world
        key = hold_key(self)
        for i, server in enumerate(self.ctx.targets):
            take_down(self.ctx, server, "OS update cut the node's networking", key)
            if spec.reimage_per_hour is not None:  # else operators re-image (``end_on``, one node at a time)
                world.call_later(spec.reimage_after_s + (i + 1) * 3600.0 / spec.reimage_per_hour,
                                 self._reimaged, server, key)

    def _reimaged(self, server: Any, key: str) -> None:
        bring_back(self.ctx, server, "node re-imaged", key)


@FAULTS.register("fleet_change")
class FleetChange(Fault):
    """Every targeted node calls the control plane more (linear or quadratic in the fleet size).

    Each control plane gets the load of the targeted nodes that call it (a cluster's own, or every node
    for the discovery's). The added load follows the fleet: the targeted share of the nodes there are
    now, each adding ``ops_per_node_s`` (linear) or ``ops_per_node_s`` x N (quadratic).
    """

    def start(self) -> None:
        spec = self.ctx.spec
        for cp in self._control_planes():
            n = sum(1 for s in self.ctx.targets if cp.covers(s))
            if not n:
                continue
            nodes = max(1, cp.nodes())
            per_node = spec.ops_per_node_s * min(1.0, n / nodes)
            now = per_node * nodes * (nodes if spec.cost == "quadratic" else 1)
            kwargs = {"per_node_sq_ops_s" if spec.cost == "quadratic" else "per_node_ops_s": per_node}
            cp.set_load(spec.id, self.ctx.cause(f"fleet-wide change on {n} nodes: +{now:,.0f} ops/s"), **kwargs)

    def stop(self) -> None:
        for cp in self._control_planes():
            cp.set_load(self.ctx.spec.id, self.ctx.cause("change rolled back"))

    def _control_planes(self) -> list[Any]:
        """The control planes of the stack, whatever they are called (found by kind)."""
        return [c for c in self.ctx.stack.by_name.values() if getattr(c, "kind", "") == "control_plane"]
