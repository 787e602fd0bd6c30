"""Redeploy or roll back a pool in batches: each replica drains, stops and restarts clean.

A batch's replicas drain (readiness fails, in-flight work finishes, at most ``drain_grace_s``), stop,
and start again after ``restart_s`` (then their cold start: model load, readiness): the lifecycle's
own verbs (``drain``, ``crash`` with a restart, ``restart_after``). As a replica stops, the named
fault's effect ends on it through the fault's own per-target end (``end_fault_on``: its bug, its
holds): a bad build or config leaves replica by replica, so the time to recover emerges from the
batch size, the drain, the restart and the model load. The next batch starts when every replica of
the batch has stopped and serves again (plus ``pause_s``), or after ``batch_timeout_s``. Each batch
waits while the control plane is not serving (a deploy goes through it). A rollback first halts the
fault's own rollout or propagation (``Fault.halt``), so the bad build stops spreading.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from sim.faults.base import end_fault, end_fault_on
from sim.faults.ledger import ledger_of
from sim.response.actions.base import ACTIONS, Action

READY_POLL_S = 5.0
"""How often a batch is checked for serving again."""
PER_REPLICA = ("bad_deploy", "config_push")
"""Fault kinds a rollback ends replica by replica; any other kind ends as a whole."""
DEFAULT_BATCH_PERCENT = 25.0
"""Batch size when the spec gives none (Kubernetes' default maxUnavailable is 25 %)."""


@ACTIONS.register("rollback")
@ACTIONS.register("redeploy")
class Redeploy(Action):
    """See the module docstring."""

    def start(self) -> None:
        spec = self.ctx.spec
        world = self.ctx.world
        faults = ledger_of(world).faults_of(spec.fault) if spec.fault else []
        if spec.kind == "rollback" and faults and faults[0].ctx.spec.kind not in PER_REPLICA:
            self.ctx.when_control_plane(self._end_whole)
            return
        if spec.kind == "rollback":
            for fault in faults:
                fault.halt()
        if spec.pool is not None:
            self.pending = [s for s in self.ctx.stack.servers if s.pool == spec.pool]
        else:
            self.pending = [t for f in faults for t in f.ctx.targets]
        total = len(self.pending)
        self.size = spec.batch_size or max(1, math.ceil(total * (spec.batch_percent or DEFAULT_BATCH_PERCENT) / 100))
        self.batches = 0
        self.stopped: set[str] = set()
        """Replicas of the current batch that have stopped (a draining replica still counts as serving)."""
        self.ctx.note("action starts", f"{spec.name}: {spec.kind} of {total} replicas in batches of {self.size}")
        self._next()

    def _end_whole(self) -> None:
        spec = self.ctx.spec
        end_fault(self.ctx.world, spec.fault, f"rolled back by operators ({spec.name})")
        self.ctx.note("action done", f"{spec.name}: {spec.fault} rolled back", fault=spec.fault)

    def _next(self) -> None:
        if not self.pending:
            self.ctx.note("action done", f"{self.ctx.spec.name}: {self.ctx.spec.kind} done ({self.batches} batches)")
            return
        self.ctx.when_control_plane(self._batch)

    def _batch(self) -> None:
        spec = self.ctx.spec
        batch, self.pending = self.pending[: self.size], self.pending[self.size:]
        self.batches += 1
        self.stopped = set()
        self.ctx.note("action step", f"{spec.name}: batch {self.batches}: {', '.join(s.name for s in batch)}")
        for server in batch:
            if server.serving:
                server.drain(self.ctx.cause(f"{spec.kind}: draining"), partial(self._stop, server), spec.drain_grace_s)
            else:
                self._stop(server, False)
        self.ctx.world.call_later(READY_POLL_S, self._check, batch, self.ctx.world.now)

    def _stop(self, server: Any, killed: bool) -> None:
        spec = self.ctx.spec
        self.stopped.add(server.name)
        detail = f"{spec.kind}: restarting clean"
        if spec.fault is not None:
            end_fault_on(self.ctx.world, spec.fault, server, f"{detail} ({spec.name})")
        if server.state == "down":
            server.restart_after(spec.restart_s, f"{detail} ({spec.name})")
        else:
            server.crash(self.ctx.cause(detail), spec.restart_s)

    def _check(self, batch: list[Any], since_s: float) -> None:
        world = self.ctx.world
        back = all(s.name in self.stopped and s.serving for s in batch)  # stopped, restarted, serving again
        if back or world.now - since_s >= self.ctx.spec.batch_timeout_s:
            world.call_later(self.ctx.spec.pause_s, self._next)
        else:
            world.call_later(READY_POLL_S, self._check, batch, since_s)
