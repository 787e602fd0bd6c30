"""Actions that end a fault as a whole, through the fault's own end path: disable a config, remove a trigger."""

from __future__ import annotations

from sim.faults.base import end_fault
from sim.response.actions.base import ACTIONS, Action


@ACTIONS.register("end_fault")
@ACTIONS.register("disable_config")
class EndFault(Action):
    """The named fault ends now (``sim.faults.base.end_fault``: clear its source, release its holds, and
    whatever its kind adds); no later occurrence starts. A disabled config needs no restart: replicas in
    a crash loop start clean at their next restart."""

    def start(self) -> None:
        spec = self.ctx.spec
        verb = "disabled" if spec.kind == "disable_config" else "ended"
        active = end_fault(self.ctx.world, spec.fault, f"{verb} by operators ({spec.name})")
        self.ctx.note("action done", f"{spec.name}: {spec.fault} {verb}" + ("" if active else " (it was not active)"),
                      fault=spec.fault)
