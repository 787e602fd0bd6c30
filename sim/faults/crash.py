"""Process or node crash: in-flight work is lost; with restart, the server comes back after
``restart_delay_s`` plus its cold start (``model_load_s``); without, it stays down until the fault ends.

A crash with restart is instant: its end is logged at once, and coming back is the restart mechanism's job
(which waits while another fault, a zone outage say, still holds the replica down). A crash without
restart holds the replica down for its window.
"""

from __future__ import annotations

from sim.faults.base import FAULTS, Fault, bring_back, take_down


@FAULTS.register("crash")
class Crash(Fault):
    """Crash the targeted servers."""

    @property
    def instant(self) -> bool:
        return bool(self.ctx.spec.restart)

    def start(self) -> None:
        spec = self.ctx.spec
        for server in self.ctx.targets:
            if spec.restart:
                server.crash(self.ctx.cause("process crashed"), spec.restart_delay_s)
            else:
                take_down(self.ctx, server, "process crashed")

    def stop(self) -> None:
        if not self.ctx.spec.restart:
            for server in self.ctx.targets:
                bring_back(self.ctx, server, "process restarted")
