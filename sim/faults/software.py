"""Software bugs: error rate, latency inflation, hang, poison requests, memory leak, silent wrong answers.

Each sets one flag or factor on the targeted servers; retries, health checks, OOM kills and restarts
do the rest. ``apply_bug`` / ``remove_bug`` give a bad build or config (maintenance faults) the
same bugs.
"""

from __future__ import annotations

from typing import Any

from sim.components.factors import neutral, replace_share
from sim.faults.base import FAULTS, FactorFault, Fault, FaultContext


@FAULTS.register("error_rate")
class ErrorRate(FactorFault):
    """A share of served requests fail with a server error."""

    attribute = "error_probability"

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

    attribute = "wrong_probability"

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.wrong_percent / 100.0

    def describe(self) -> str:
        return f"bug: {self.ctx.spec.wrong_percent:g} % of answers silently wrong"


def hang(server: Any) -> None:
    """One more hang (fault or bug) holds the process: it computes but answers nothing."""
    server.hung += 1


def unhang(server: Any) -> None:
    """One hang ends; when it was the last, attempts the process held get a reset connection (server error)."""
    server.hung = max(0, server.hung - 1)
    if server.hung:
        return
    stuck, server.stuck = server.stuck, []
    for att in stuck:
        server._reply(att, "server_error")


@FAULTS.register("hang")
class Hang(Fault):
    """The process stops answering: work is computed but never returned; readiness probes fail."""

    def start(self) -> None:
        for server in self.ctx.targets:
            hang(server)
            self.ctx.mark(server.name, "process hung: no answers, probes fail")

    def stop(self) -> None:
        for server in self.ctx.targets:
            unhang(server)


@FAULTS.register("poison_request")
class PoisonRequest(Fault):
    """A share of new requests is poison; a targeted server receiving one crashes (a mechanism)."""

    def start(self) -> None:
        spec = self.ctx.spec
        for server in self.ctx.targets:
            server.poison_parent = self.ctx.mark(server.name, "vulnerable build: poison requests crash it")
            server.poison_restart_delay_s = spec.restart_delay_s
        for client in self.ctx.stack.clients:
            client.poison_probability = spec.poison_percent / 100.0

    def stop(self) -> None:
        for client in self.ctx.stack.clients:
            client.poison_probability = 0.0
        for server in self.ctx.targets:
            server.poison_parent = None


def start_leak(ctx: FaultContext, server: Any, leak: Any, parent: int | None) -> None:
    """Give a server a leak (fields of a memory_leak fault or bug); OOM kills will name ``parent``.

    A server whose pool already models memory (``pools[].memory``) keeps its limit, baseline and
    per-request figures: the leak only adds growth. Otherwise the leak's figures become its model.
    """
    if not server._memory_watch:
        server.memory_limit_mb = leak.memory_limit_mb
        server.memory_baseline_mb = leak.baseline_mb
        server.memory_per_request_mb = leak.per_request_mb
        server.oom_restart_delay_s = leak.restart_delay_s
    server.leak_mb_per_request = leak.leak_mb_per_request
    server.leak_mb_per_s = leak.leak_mb_per_s
    server.memory_parent = parent
    server.watch_memory(True)


def stop_leak(server: Any) -> None:
    """The leak is fixed: no more growth (memory already leaked stays until the next restart)."""
    server.leak_mb_per_request = 0.0
    server.leak_mb_per_s = 0.0


@FAULTS.register("memory_leak")
class MemoryLeak(Fault):
    """Memory grows per request and per second; the OOM kill and restart are the server's mechanisms."""

    def start(self) -> None:
        spec = self.ctx.spec
        for server in self.ctx.targets:
            tid = self.ctx.mark(server.name, f"memory leak: +{spec.leak_mb_per_request:g} MB per request, "
                                             f"+{spec.leak_mb_per_s:g} MB/s")
            start_leak(self.ctx, server, spec, tid)

    def stop(self) -> None:
        for server in self.ctx.targets:
            stop_leak(server)


FACTOR_BUGS: dict[str, type[FactorFault]] = {
    "error_rate": ErrorRate, "latency_inflation": LatencyInflation, "wrong_answer": WrongAnswer}
"""Bugs that act as the fault of the same kind (same fields, same effect, composed the same way)."""


def apply_bug(ctx: FaultContext, server: Any, bug: Any, parent: int | None) -> None:
    """Give a server a bad build's (or config's) bug; ``parent`` is the transition that brought it.

    A bug does what the fault of its kind does at full level (``FACTOR_BUGS``, ``hang``, ``start_leak``),
    plus the crash loop, which only a bad build or config has.
    """
    kind = bug.kind
    factor = FACTOR_BUGS.get(kind)
    if factor is not None:
        replace_share(server, factor.attribute, neutral(factor.attribute), factor.effect(bug))
    elif kind == "hang":
        hang(server)
    elif kind == "memory_leak":
        start_leak(ctx, server, bug, parent)
    elif kind == "crash_loop":
        server.crash_on_start = (parent, bug.restart_delay_s)


def remove_bug(server: Any, bug: Any) -> None:
    """Roll back a bug given by ``apply_bug`` (only its own share: other faults' effects stay)."""
    kind = bug.kind
    factor = FACTOR_BUGS.get(kind)
    if factor is not None:
        replace_share(server, factor.attribute, factor.effect(bug), neutral(factor.attribute))
    elif kind == "hang":
        unhang(server)
    elif kind == "memory_leak":
        stop_leak(server)
    elif kind == "crash_loop":
        server.crash_on_start = None
