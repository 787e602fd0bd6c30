"""DNS / service discovery: clients resolve load balancer names and cache the answer for ``ttl_s``.

When discovery fails, clients keep using cached records until they expire; only then do requests
fail. With a control plane, discovery itself serves the records it last fetched for
``record_ttl_s`` after the control plane stops serving; only then do lookups fail (the delay of
about one TTL between a control-plane failure and a data-plane failure, incident 8). A cluster's
own DNS (``ClusterDns``) does the same for the replicas of the cluster: once its records expire they
cannot find the services they call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
        self.effects = Effects(("lookup_delay_s",))
        """``lookup_delay_s``: a lookup waits this long before it is answered (a DNS cache cut off)."""
        self.zone: str | None = None
        self.lookups = 0
        self.control_plane = None
        """The control plane records come from (optional)."""
        self.record_ttl_s = 0.0
        """How long records fetched from the control plane stay valid once it stops serving."""
        self.records_valid = True
        self._token = 0
        world.set_state(name, "healthy", Cause("init", name, "initial", "serving records"))

    @property
    def lookup_delay_s(self) -> float:
        """How long a lookup waits before it is answered (0 normally)."""
        return self.effects["lookup_delay_s"]

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


RECHECK_S = 10.0
"""While a cluster's records are expired, how often replicas that joined since are told (new pods fail too)."""


class ClusterDns:
    """In-cluster DNS (CoreDNS fed by the cluster's control plane): the cluster's replicas find the services
    they call through it.

    Records are refreshed while the control plane serves; once it stops they stay valid ``record_ttl_s``,
    then every replica of the cluster answers its requests with a server error (it cannot find its
    backends; effect ``error_share`` under the control plane's ``<name>:dns`` key, through the replica's
    port) until the control plane serves again and the records are refreshed.
    """

    def __init__(self, world: World, control_plane: str, record_ttl_s: float, servers: Callable[[], list[Any]]):
        self.world = world
        self.control_plane = control_plane
        self.record_ttl_s = record_ttl_s
        self.servers = servers
        self.key = f"{control_plane}:dns"
        self.records_valid = True
        self._token = 0
        self._parent: int | None = None
        self._told: set[str] = set()

    def control_plane_changed(self, serving: bool, parent: int | None) -> None:
        """The control plane went down or came back: the records can (not) be refreshed from now on."""
        self._token += 1
        if serving:
            was_valid, self.records_valid = self.records_valid, True
            if not was_valid:
                for server in self.servers():
                    if server.name in self._told:
                        server.effects.clear(self.key, "error_share")
                        self.world.set_state(server.name, server.state, Cause(
                            "mechanism", self.control_plane, "control_plane", "in-cluster DNS records refreshed",
                            (parent,) if parent is not None else ()), force=True)
                self._told.clear()
        elif self.records_valid:
            self._parent = parent
            self.world.call_later(self.record_ttl_s, self._expired, self._token)

    def _expired(self, token: int) -> None:
        if token != self._token:
            return
        self.records_valid = False
        self._tell_new()

    def _tell_new(self) -> None:
        parents = (self._parent,) if self._parent is not None else ()
        for server in self.servers():
            if server.name not in self._told:
                self._told.add(server.name)
                mark = self.world.set_state(server.name, server.state, Cause(
                    "mechanism", self.control_plane, "record_ttl",
                    f"in-cluster DNS records expired {self.record_ttl_s:g} s after the control plane stopped "
                    "serving: backends not found", parents), force=True)
                server.effects.set(self.key, "error_share", 1.0, mark)
        self.world.call_later(RECHECK_S, self._recheck, self._token)

    def _recheck(self, token: int) -> None:
        if token == self._token and not self.records_valid:
            self._tell_new()
