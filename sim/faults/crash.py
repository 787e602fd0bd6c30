"""Process or node crash: in-flight work is lost; with restart, the server comes back after
``restart_delay_s`` plus its cold start (``model_load_s``); without, it stays down until the fault ends.

A crash with restart is instant: its end is logged at once, and coming back is the restart mechanism's job.
"""

from __future__ import annotations

from sim.faults.base import FAULTS, Fault


@FAULTS.register("crash")
class Crash(Fault):
    """Crash the targeted servers."""

    @property
    def instant(self) -> bool:
        return bool(self.ctx.spec.restart)

    def start(self) -> None:
        spec = self.ctx.spec
        for server in self.ctx.targets:
            server.crash(self.ctx.cause("process crashed"), spec.restart_delay_s if spec.restart else None)

    def stop(self) -> None:
        if not self.ctx.spec.restart:
            for server in self.ctx.targets:
                if server.state == "down":
                    server.start()
