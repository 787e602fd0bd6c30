"""The runbook: each action runs once, at its ``at_s`` or ``delay_s`` after its alert's diagnosis.

An action scheduled on an alert that never fires (or is never diagnosed) never runs. An action that
needs the control plane (default: redeploy, rollback and scale_pool when the scenario has one) is
given the one that covers its pool (a cluster's own), else discovery's, and waits while it is not serving.
"""

from __future__ import annotations

from typing import Any

from sim.engine.world import World
from sim.response.actions import ACTIONS, ActionContext
from sim.response.actions.base import control_plane_for
from sim.response.durations import draw_s
from sim.response.log import ResponseLog
from sim.spec.response import CONTROL_PLANE_KINDS


class Runbook:
    """Schedules the actions (see the module docstring)."""

    def __init__(self, world: World, stack: Any, actions: list[Any], log: ResponseLog):
        self.world = world
        self.stack = stack
        self.log = log
        self.actions = actions
        self.started: dict[str, float] = {}

    def start(self) -> None:
        for spec in self.actions:
            if spec.at_s is not None:
                self.world.call_later(spec.at_s, self._due, spec)

    def diagnosed(self, alert: str) -> None:
        """The on-call diagnosed ``alert``: the actions waiting for it are due after their delay."""
        for spec in self.actions:
            if spec.after_alert == alert and spec.name not in self.started:
                self.started[spec.name] = self.world.now
                self.world.call_later(draw_s(self.world, spec.delay_s, spec.name, "delay"), self._run, spec)

    def _due(self, spec: Any) -> None:
        self.started[spec.name] = self.world.now
        self.world.call_later(draw_s(self.world, spec.delay_s, spec.name, "delay"), self._run, spec)

    def _run(self, spec: Any) -> None:
        needs = spec.needs_control_plane
        if needs is None:
            needs = spec.kind in CONTROL_PLANE_KINDS
        planes = control_plane_for(self.stack, None, getattr(spec, "pool", None)) if needs else []
        ctx = ActionContext(self.world, self.stack, spec, self.log, planes[0] if planes else None)
        ACTIONS.create(spec.kind, ctx).start()
