"""The on-call: paged by an alert, acknowledges, then diagnoses each alert that fired.

The first alert that pages (``response.routing``) reaches the on-call ``page_s`` after it fires and
is acknowledged ``ack_s`` later. From then on the on-call is engaged: every alert that has fired,
paging or not, is diagnosed ``diagnose_s`` after the later of its firing and the acknowledgement
(one diagnosis per alert name, each with its own draw). An alert that never fires is never diagnosed,
so an action waiting for it never runs. One page per run: later alerts reach an engaged responder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.engine.world import World
from sim.response.durations import draw_s
from sim.response.log import ResponseLog

WHO = "oncall"
"""The on-call's random streams go by this name."""


class OnCall:
    """Pages, acknowledgement and diagnoses (see the module docstring)."""

    def __init__(self, world: World, spec: Any, pages: Callable[[str], bool], log: ResponseLog,
                 on_diagnosed: Callable[[str], None]):
        self.world = world
        self.spec = spec
        self.pages = pages
        self.log = log
        self.on_diagnosed = on_diagnosed
        self.paged = False
        self.acked_s: float | None = None
        self.waiting: list[str] = []
        """Alerts that fired before the acknowledgement, diagnosed once it comes."""
        self.diagnosing: set[str] = set()
        self.diagnosed: dict[str, float] = {}

    def alert(self, name: str, event: str, episode: dict[str, Any]) -> None:
        """The online monitor's listener."""
        now = self.world.now
        if event == "resolved":
            self.log.add(now, "alert resolves", f"alert {name} resolved", alert=name)
            return
        self.log.add(now, "alert fires", f"alert {name} fires", alert=name, pages=self.pages(name))
        if self.acked_s is not None:
            self._diagnose(name)
            return
        if name not in self.waiting:
            self.waiting.append(name)
        if not self.paged and self.pages(name):
            self.paged = True
            self.world.call_later(draw_s(self.world, self.spec.page_s, WHO, "page"), self._paged, name)

    def _paged(self, name: str) -> None:
        self.log.add(self.world.now, "page", f"the on-call is paged by alert {name}", alert=name)
        self.world.call_later(draw_s(self.world, self.spec.ack_s, WHO, "ack"), self._acked, name)

    def _acked(self, name: str) -> None:
        self.acked_s = self.world.now
        self.log.add(self.world.now, "acknowledged", f"the on-call acknowledged the page ({name})", alert=name)
        for alert in self.waiting:
            self._diagnose(alert)
        self.waiting = []

    def _diagnose(self, name: str) -> None:
        if name in self.diagnosing:
            return
        self.diagnosing.add(name)
        self.world.call_later(draw_s(self.world, self.spec.diagnose_s, WHO, f"diagnose:{name}"), self._diagnosed,
                              name)

    def _diagnosed(self, name: str) -> None:
        self.diagnosed[name] = self.world.now
        self.log.add(self.world.now, "diagnosed", f"the on-call diagnosed alert {name}", alert=name)
        self.on_diagnosed(name)
