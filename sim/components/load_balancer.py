"""A load balancer: routes each attempt to a replica in rotation, chosen by its balancing policy.

Optional policies (all off unless configured): rate limiting per client class, outlier detection
and panic mode, retries at the load balancer, and fallback to a smaller pool or a cached answer
(graceful degradation). When one of the last three is on, the load balancer sees each reply on its
way back (one closure per attempt).
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

from sim.components.effects import Effects
from sim.components.lifecycle import HeldOutOfService, Holds
from sim.components.policies import BalancerPolicies
from sim.engine.distributions import UniformSampler
from sim.engine.request import SERVED, Attempt
from sim.engine.timeline import Cause
from sim.engine.world import World

_OUTSTANDING = attrgetter("outstanding")

LB_RETRIED = frozenset(("server_error", "rejected", "dependency_error", "network_error"))
"""Failures a load balancer retries on another replica (Envoy retry_on 5xx, reset, connect-failure)."""


class LoadBalancer(HeldOutOfService):
    """Holds its policies (``BalancerPolicies``: balancing, readiness checks, outlier detection, panic,
    retries, rate limiting, fallback); answers no_healthy_upstream when no replica is in rotation.

    State: healthy (every replica in rotation), degraded (some out), down (none left). Each change
    names the replica transitions that caused it.
    """

    kind = "load_balancer"

    def __init__(self, world: World, name: str, zone: str, servers: list[Any], policies: BalancerPolicies):
        self.world = world
        self.name = name
        self.zone = zone
        self.servers = servers
        self.balancer = policies.balancer
        self.health = policies.readiness
        self.outlier = policies.outlier
        self.retry = policies.retry
        self.rate_limiter = policies.rate_limit
        self.fallback = policies.fallback
        self._panic = policies.panic
        self.observing = self.outlier is not None or self.retry is not None or self.fallback is not None
        """Whether replies pass through the load balancer's policies on their way back (its policies are fixed)."""
        self.rotation: list[Any] = list(servers)
        self._by_model: dict[tuple[int, int, str], tuple[list[Any], list[Any]]] = {}
        self._everyone: list[Any] = list(servers)
        """A copy of ``servers`` made at each change: what panic mode routes over (a list that never changes
        in place, so a balancer may index it)."""
        self._in: set[str] = {s.name for s in servers}
        self._out: dict[str, set[str]] = {}
        self.routed = 0
        self.available = True
        """False while a fault (zone outage, deletion) has taken the load balancer itself down."""
        self.holds = Holds()
        """Keys of the faults holding the load balancer down; ``available`` only when empty."""
        self.effects = Effects(("admit_rps", "admit_share", "cross_zone_reroute"), self._effect_changed)
        """What operators set, by source: admission limits (a traffic limit, a block and ramp; the tightest
        wins) and rerouting to other zones (a zone-aware balancer may then leave its zone)."""
        self._admission = False
        self._admit_rps = math.inf
        self._admit_share = 1.0
        self._tokens = 0.0
        self._tokens_at_s = 0.0
        self._admit_coin = UniformSampler(world.streams.get(name, "admission"))
        self.admission_limited = 0
        self.panic = False
        """Routing to every replica, in rotation or not (the panic policy says so)."""
        self.panic_routed = 0
        self.degraded_answers = 0
        self._coin = UniformSampler(world.streams.get(name, "fallback"))
        world.set_state(name, "healthy", Cause("init", name, "initial", "all upstreams in rotation"))

    @property
    def zone_confined(self) -> bool:
        """Whether its balancing can keep traffic in its own zone (zone_aware), so rerouting means something."""
        return hasattr(self.balancer, "reroute")

    def _effect_changed(self, name: str, value: float) -> None:
        if name == "cross_zone_reroute":
            if self.zone_confined:
                self.balancer.reroute(value > 0)
            return
        if name == "admit_rps":
            if self._admit_rps == math.inf:  # a new limit starts with one second of burst
                self._tokens, self._tokens_at_s = max(1.0, value), self.world.env.now
            self._admit_rps = value
        else:
            self._admit_share = value
        self._admission = self._admit_rps < math.inf or self._admit_share < 1.0

    def _admit(self) -> bool:
        """Whether the admission limits let one more request in (share first, then the token bucket)."""
        if self._admit_share < 1.0 and self._admit_coin() >= self._admit_share:
            return False
        rate = self._admit_rps
        if rate == math.inf:
            return True
        now = self.world.env.now
        burst = max(1.0, rate)
        self._tokens = min(burst, self._tokens + (now - self._tokens_at_s) * rate)
        self._tokens_at_s = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _released_state(self) -> str:
        """Back to its rotation's state once nothing holds it."""
        return self.rotation_state()

    def start(self) -> None:
        if self.health is not None:
            self.health.start(self.world, self)
        if self.outlier is not None:
            self.outlier.start(self.world, self)

    def in_rotation(self, server: Any) -> bool:
        return server.name in self._in

    def ejected_by(self, server: Any, mechanism: str) -> bool:
        """Whether ``mechanism`` (health_check, outlier_detection, ...) holds this replica out of rotation."""
        return mechanism in self._out.get(server.name, ())

    def eject(self, server: Any, detail: str, mechanism: str = "health_check") -> None:
        """Take a replica out of rotation; it returns when every mechanism that ejected it restores it."""
        self._out.setdefault(server.name, set()).add(mechanism)
        if server.name not in self._in:
            return
        self._in.discard(server.name)
        self._rebuild()
        tid = self._update_state(server, f"ejected {server.name}: {detail}", mechanism)
        if tid is not None:
            server.ejections[self.name] = tid

    def restore(self, server: Any, detail: str, mechanism: str = "health_check") -> None:
        """Put a replica back into rotation (unless another mechanism still holds it out)."""
        reasons = self._out.get(server.name)
        if reasons:
            reasons.discard(mechanism)
            if reasons:
                return
        if server.name in self._in:
            return
        self._in.add(server.name)
        self._rebuild()
        server.ejections.pop(self.name, None)
        self._update_state(server, f"restored {server.name}: {detail}", mechanism)

    def add_server(self, server: Any, detail: str) -> None:
        """A new replica (autoscaling) joins out of rotation; readiness (health checks) brings it in."""
        self.servers.append(server)
        self._out[server.name] = {"health_check"}
        self._rebuild()
        if self.health is not None:
            self.health.added(server)
        self._update_state(server, f"added {server.name}: {detail}", "autoscaling")

    def remove_server(self, server: Any, detail: str) -> None:
        """A replica leaves for good (scale-down)."""
        self.servers.remove(server)
        if self.health is not None:
            self.health.removed(server)
        self._in.discard(server.name)
        self._out.pop(server.name, None)
        server.ejections.pop(self.name, None)
        self._rebuild()
        self._update_state(server, f"removed {server.name}: {detail}", "autoscaling")

    def _rebuild(self) -> None:
        self.rotation = [s for s in self.servers if s.name in self._in]
        self._everyone = list(self.servers)
        if self._panic is not None:
            self.panic = self._panic.active(len(self.rotation), len(self.servers))

    def rotation_state(self) -> str:
        """healthy (every replica in rotation), degraded (some out) or down (none left)."""
        n, total = len(self.rotation), len(self.servers)
        return "healthy" if n == total else ("down" if n == 0 else "degraded")

    def _update_state(self, server: Any, detail: str, mechanism: str = "health_check") -> int | None:
        n, total = len(self.rotation), len(self.servers)
        state = self.rotation_state() if self.available else "down"  # held down by a fault: rotation changes only
        parent = self.world.timeline.last_transition.get(server.name)
        parents = (parent,) if parent is not None else ()
        if self.panic:
            detail += "; panic mode: routing to all replicas"
        cause = Cause("mechanism", self.name, mechanism, f"{detail} ({n}/{total} in rotation)", parents)
        return self.world.set_state(self.name, state, cause, force=True)

    def handle(self, att: Attempt) -> None:
        """Route one attempt."""
        if not self.available:
            att.reply(att, "network_error")
            return
        if self._admission and not self._admit():
            self.admission_limited += 1
            att.reply(att, "rate_limited")
            return
        limiter = self.rate_limiter
        if limiter is not None and not limiter.allow(att.request.client, self.world.env.now):
            att.reply(att, "rate_limited")
            return
        if self.observing:
            if self.retry is not None:
                self.retry.attempt_started(1)
            self._route_observed(att, att.reply, 1, att.path_latency_s)
            return
        if self.panic or att.request.model is not None:
            server = self._pick(att)
        else:
            rotation = self.rotation
            server = self.balancer.pick(rotation, att) if rotation else None
        if server is None:
            att.reply(att, "no_healthy_upstream")
            return
        self.routed += 1  # ``_send``, inline (every attempt)
        network = self.world.network
        if network.unimpaired:  # ``network.hop_s``, inline (every attempt)
            zone = self.zone
            latency = 0.0 if zone is None or server.zone is None else network.one_way_s[(zone, server.zone)]
        else:
            latency = network.hop_s(self.zone, server.zone, self.name, server.name)
        if latency < 0:
            att.reply(att, "network_error")
            return
        if latency:
            att.path_latency_s += latency
            self.world.call_later(latency, server.submit, att)
        else:
            server.submit(att)

    def _pick(self, att: Attempt) -> Any:
        if self.panic:
            self.panic_routed += 1
            return self.balancer.pick(self._serving_model(self._everyone, att), att)
        rotation = self._serving_model(self.rotation, att)
        if not rotation:
            return None
        return self.balancer.pick(rotation, att)

    def _serving_model(self, servers: list[Any], att: Attempt) -> list[Any]:
        """The replicas whose pool serves the request's model (all of them for a request without one)."""
        model = att.request.model
        if model is None:
            return servers
        key = (id(servers), len(servers), model)
        cached = self._by_model.get(key)
        if cached is None or cached[0] is not servers:
            picked = [s for s in servers if getattr(s, "models", None) is None or model in s.models]
            if len(self._by_model) > 64:
                self._by_model.clear()
            cached = self._by_model[key] = (servers, picked)
        return cached[1]

    def _route_observed(self, att: Attempt, reply: Any, tries: int, base_latency_s: float) -> None:
        """Route one try, with the reply coming back through ``_settle``."""
        server = self._pick(att)
        if server is None:
            self._settle(att, reply, None, "no_healthy_upstream", tries, base_latency_s)
            return
        att.reply = lambda a, outcome: self._settle(a, reply, server, outcome, tries, base_latency_s)
        self._send(att, server)

    def _settle(self, att: Attempt, reply: Any, server: Any, outcome: str, tries: int, base_latency_s: float) -> None:
        """A reply passes the load balancer: outlier detection sees it; retry or fall back, or forward it."""
        att.reply = reply
        if server is not None and self.outlier is not None:
            self.outlier.observe(server, outcome)
        retry = self.retry
        if retry is not None:
            retry.attempt_ended(tries, outcome in SERVED)
        if outcome not in SERVED and not att.finished:
            if retry is not None and outcome in LB_RETRIED and retry.should_retry(outcome, tries):
                self.world.call_later(retry.backoff_s(tries), self._retry, att, reply, tries + 1, base_latency_s)
                return
            fallback = self.fallback
            if fallback is not None and outcome in fallback.on and self._fall_back(att, reply, base_latency_s):
                return
        reply(att, outcome)

    def _retry(self, att: Attempt, reply: Any, tries: int, base_latency_s: float) -> None:
        if att.finished:
            return
        _reset(att, base_latency_s)
        self.world.metrics.attempt(self.world.env.now)
        self.retry.attempt_started(tries)
        self._route_observed(att, reply, tries, base_latency_s)

    def _fall_back(self, att: Attempt, reply: Any, base_latency_s: float) -> bool:
        """Answer from a cache of earlier answers or the smaller pool, as ``degraded``; False if neither can."""
        fallback = self.fallback
        if fallback.cached_answer_ratio and self._coin() < fallback.cached_answer_ratio:
            self.degraded_answers += 1
            reply(att, "degraded")
            return True
        candidates = [s for s in fallback.servers if s.serving]
        if not candidates:
            return False
        server = min(candidates, key=_OUTSTANDING)
        _reset(att, base_latency_s)

        def degraded(a: Attempt, outcome: str) -> None:
            a.reply = reply
            if outcome == "success":
                self.degraded_answers += 1
                outcome = "degraded"
            reply(a, outcome)

        att.reply = degraded
        self._send(att, server)
        return True

    def _send(self, att: Attempt, server: Any) -> None:
        self.routed += 1
        latency = self.world.network.hop_s(self.zone, server.zone, self.name, server.name)
        if latency < 0:
            att.reply(att, "network_error")
            return
        if latency:
            att.path_latency_s += latency
            self.world.call_later(latency, server.submit, att)
        else:
            server.submit(att)

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        out: dict[str, object] = {
            "kind": self.kind, "routed": self.routed, "in_rotation": len(self.rotation),
            "replicas": len(self.servers), "load_skew": load_skew([s.completed + s.failed for s in self.servers])}
        if self.admission_limited:  # only when operators limited admission (other runs' summaries unchanged)
            out["admission_limited"] = self.admission_limited
        return out


def load_skew(handled: list[int]) -> float | None:
    """Busiest replica's share over the mean share (1 is perfectly even): the price of affinity routing."""
    total = sum(handled)
    return max(handled) * len(handled) / total if total else None


def _reset(att: Attempt, path_latency_s: float) -> None:
    """Prepare an attempt for another replica (a retry or a fallback at the load balancer)."""
    att.path_latency_s = path_latency_s
    att.server = None
    att.t_service_start_s = None
    att.t_first_token_s = None
    att.generated = 0
    att.wrong = False
