"""Software bugs: error rate, latency inflation, hang, poison requests, memory leak, silent wrong answers.

Each sets one flag or factor on the targeted servers; retries, health checks, OOM kills and restarts
do the rest. ``apply_bug`` / ``remove_bug`` give a bad build or config (maintenance faults) the
same bugs.
"""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, FactorFault, Fault, FaultContext


@FAULTS.register("error_rate")
class ErrorRate(FactorFault):
    """A share of served requests fail with a server error."""

    effect_name = "error_share"

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.error_percent / 100.0

    def describe(self) -> str:
        return f"bug: {self.ctx.spec.error_percent:g} % of requests answered with errors"


@FAULTS.register("latency_inflation")
class LatencyInflation(FactorFault):
    """Every service (or iteration) takes slow_factor times longer."""

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.slow_factor

    def describe(self) -> str:
        return f"bug: requests {self.ctx.spec.slow_factor:g}x slower"


@FAULTS.register("wrong_answer")
class WrongAnswer(FactorFault):
    """A share of served answers are wrong; health checks see nothing."""

    effect_name = "wrong_share"

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.wrong_percent / 100.0

    def describe(self) -> str:
        return f"bug: {self.ctx.spec.wrong_percent:g} % of answers silently wrong"


@FAULTS.register("hang")
class Hang(Fault):
    """The process stops answering: work is computed but never returned; readiness probes fail.

    The end clears this fault's hang; when it was the last, the connections the process held are reset
    (the replica's business: its ``hang`` effect counts the sources)."""

    def start(self) -> None:
        for server in self.ctx.targets:
            tid = self.ctx.mark(server.name, "process hung: no answers, probes fail")
            server.effects.set(self.ctx.source, "hang", 1.0, tid)


def reaches(client: Any, servers: list[Any]) -> bool:
    """Whether any of a client's load balancers routes to one of ``servers``."""
    names = {s.name for s in servers}
    return any(s.name in names for lb in client.balancers for s in lb.servers)


@FAULTS.register("poison_request")
class PoisonRequest(Fault):
    """A share of new requests is poison; a targeted server receiving one crashes (a mechanism).

    Only the clients whose load balancers route to a targeted server send poison: the poison is a
    class of requests to the vulnerable service, not to every service of the scenario.
    """

    def __init__(self, ctx: FaultContext):
        super().__init__(ctx)
        self.clients: list[Any] = []

    def start(self) -> None:
        spec = self.ctx.spec
        source = self.ctx.source
        for server in self.ctx.targets:
            tid = self.ctx.mark(server.name, "vulnerable build: poison requests crash it")
            server.effects.set(source, "poison_restart_s", spec.restart_delay_s, tid)
        self.clients = [c for c in self.ctx.stack.clients if reaches(c, self.ctx.targets)]
        for client in self.clients:
            client.effects.set(source, "poison_share", spec.poison_percent / 100.0)

    def stop(self) -> None:
        for client in self.clients:
            client.effects.clear(self.ctx.source)
        super().stop()


def start_leak(ctx: FaultContext, server: Any, leak: Any, parent: int | None, source: str) -> None:
    """Give a server a leak (fields of a memory_leak fault or bug) under ``source``; OOM kills name ``parent``.

    A server whose pool already models memory (``pools[].memory``) keeps its limit, baseline and
    per-request figures: the leak only adds growth. Otherwise the leak's figures become its model.
    """
    server.memory.model_if_absent(leak.memory_limit_mb, leak.baseline_mb, leak.per_request_mb, leak.restart_delay_s)
    server.effects.set(source, "leak_mb_per_request", leak.leak_mb_per_request, parent)
    server.effects.set(source, "leak_mb_per_s", leak.leak_mb_per_s, parent)


@FAULTS.register("memory_leak")
class MemoryLeak(Fault):
    """Memory grows per request and per second; the OOM kill and restart are the server's mechanisms.
    The end stops this leak's growth (memory already leaked stays until the next restart)."""

    def start(self) -> None:
        spec = self.ctx.spec
        for server in self.ctx.targets:
            tid = self.ctx.mark(server.name, f"memory leak: +{spec.leak_mb_per_request:g} MB per request, "
                                             f"+{spec.leak_mb_per_s:g} MB/s")
            start_leak(self.ctx, server, spec, tid, self.ctx.source)


FACTOR_BUGS: dict[str, type[FactorFault]] = {
    "error_rate": ErrorRate, "latency_inflation": LatencyInflation, "wrong_answer": WrongAnswer}
"""Bugs that act as the fault of the same kind (same fields, same effect, composed the same way)."""


def apply_bug(ctx: FaultContext, server: Any, bug: Any, parent: int | None) -> None:
    """Give a server a bad build's (or config's) bug under the fault's source; ``parent`` is the transition
    that brought it.

    A bug does what the fault of its kind does at full level (``FACTOR_BUGS``, a hang, ``start_leak``),
    plus the crash loop, which only a bad build or config has.
    """
    kind = bug.kind
    source = ctx.source
    factor = FACTOR_BUGS.get(kind)
    if factor is not None:
        server.effects.set(source, factor.effect_name, factor.effect(bug), parent)
    elif kind == "hang":
        server.effects.set(source, "hang", 1.0, parent)
    elif kind == "memory_leak":
        start_leak(ctx, server, bug, parent, source)
    elif kind == "crash_loop":
        server.effects.set(source, "crash_loop_restart_s", bug.restart_delay_s, parent)


def remove_bug(ctx: FaultContext, server: Any) -> None:
    """Roll back the bug ``apply_bug`` gave: only this fault's source (other faults' effects stay)."""
    server.effects.clear(ctx.source)
