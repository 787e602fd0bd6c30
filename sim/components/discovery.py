"""DNS / service discovery: clients resolve load balancer names and cache the answer for ``ttl_s``.

When discovery fails, clients keep using cached records until they expire; only then do requests
fail. With a control plane, discovery itself serves the records it last fetched for
``record_ttl_s`` after the control plane stops serving; only then do lookups fail (the delay of
about one TTL between a control-plane failure and a data-plane failure, incident 8).
"""

from __future__ import annotations

from sim.components.effects import Effects
from sim.components.lifecycle import Holds
from sim.engine.timeline import Cause
from sim.engine.world import World


class Discovery:
    """Answers lookups while ``available``; a failed lookup is a ``network_error`` for the request."""

    kind = "discovery"

    def __init__(self, world: World, name: str, ttl_s: float):
        self.world = world
        self.name = name
        self.ttl_s = ttl_s
        self.available = True
        """False while anything holds it (a DNS failure)."""
        self.holds = Holds()
        self.effects = Effects(())
        self.zone: str | None = None
        self.lookups = 0
        self.control_plane = None
        """The control plane records come from (optional)."""
        self.record_ttl_s = 0.0
        """How long records fetched from the control plane stay valid once it stops serving."""
        self.records_valid = True
        self._token = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "serving records"))

    def resolve(self) -> bool:
        """One lookup; True when it was answered."""
        self.lookups += 1
        return self.available and self.records_valid

    def hold(self, key: str, cause: Cause | None) -> None:
        """Stop answering lookups while ``key`` holds it (a DNS failure); the change is recorded with ``cause``."""
        self.holds.add(key)
        self.available = False
        if cause is not None:
            self._record(cause)

    def release(self, key: str, cause: Cause) -> bool:
        """Let go of ``key``; True when nothing holds it any more: it answers again."""
        if not self.holds.release(key):
            return False
        self.available = True
        self._record(cause)
        return True

    def control_plane_changed(self, serving: bool, parent: int | None) -> None:
        """The control plane went down or came back: records can (not) be refreshed from now on."""
        self._token += 1
        parents = (parent,) if parent is not None else ()
        if serving:
            self.records_valid = True
            self._record(Cause("mechanism", self.name, "control_plane", "control plane back: records refreshed",
                               parents))
        elif self.records_valid:
            self.world.call_later(self.record_ttl_s, self._records_expired, self._token, parents)

    def _records_expired(self, token: int, parents: tuple[int, ...]) -> None:
        if token != self._token:
            return
        self.records_valid = False
        self._record(Cause("mechanism", self.name, "record_ttl",
                           f"cached records expired {self.record_ttl_s:g} s after the control plane stopped serving",
                           parents))

    def _record(self, cause: Cause) -> None:
        ok = self.available and self.records_valid
        self.world.set_state(self.name, "healthy" if ok else "down", cause)

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind, "lookups": self.lookups}
