"""Re-image the nodes an OS update cut off, at a given throughput.

The nodes held by the named fault (an ``os_update`` whose ``reimage_per_hour`` is null, or any fault
holding nodes) come back one after another, one every 3600 / ``per_hour`` s from the action, each
through the fault's own per-target end (``end_fault_on``: its hold released), then a cold start: the
restoration is a slow ramp limited by the re-imaging throughput (card 9).
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import end_fault_on
from sim.faults.ledger import ledger_of
from sim.response.actions.base import ACTIONS, Action


@ACTIONS.register("reimage")
class Reimage(Action):
    """See the module docstring."""

    def start(self) -> None:
        spec = self.ctx.spec
        nodes: list[Any] = [t for f in ledger_of(self.ctx.world).faults_of(spec.fault) for t in f.ctx.targets]
        self.left = len(nodes)
        gap_s = 3600.0 / spec.per_hour
        self.ctx.note("action starts", f"{spec.name}: re-imaging {len(nodes)} nodes at {spec.per_hour:g} per hour")
        for i, node in enumerate(nodes):
            self.ctx.world.call_later((i + 1) * gap_s, self._reimaged, node)
        if not nodes:
            self.ctx.note("action done", f"{spec.name}: no node to re-image")

    def _reimaged(self, node: Any) -> None:
        spec = self.ctx.spec
        end_fault_on(self.ctx.world, spec.fault, node, f"node re-imaged ({spec.name})")
        self.left -= 1
        if self.left == 0:
            self.ctx.note("action done", f"{spec.name}: every node re-imaged")
