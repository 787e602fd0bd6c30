"""GPU faults: a lost GPU, an uncorrectable ECC error or a failed tensor-parallel link takes the whole
replica down until the hardware is replaced (then a cold start); thermal throttling slows every
iteration; KV-cache exhaustion shrinks the usable KV cache (batching and preemption do the rest)."""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, FactorFault, Fault


class _ReplicaLoss(Fault):
    """Down until replaced: after ``replace_s`` (instant fault, replacement is a repair) or at the window's end."""

    detail = "hardware failed"

    @property
    def instant(self) -> bool:
        return self.ctx.spec.replace_s is not None

    def start(self) -> None:
        replace_s = self.ctx.spec.replace_s
        for server in self.ctx.targets:
            server.crash(self.ctx.cause(self.detail), None)
            if replace_s is not None and server.state == "down":
                self.ctx.world.call_later(replace_s, self._replaced, server, server.incarnation)

    @staticmethod
    def _replaced(server: Any, incarnation: int) -> None:
        server.start(incarnation, "hardware replaced, loading model")

    def stop(self) -> None:
        if self.ctx.spec.replace_s is None:
            for server in self.ctx.targets:
                if server.state == "down":
                    server.start(None, "hardware replaced, loading model")


@FAULTS.register("gpu_lost")
class GPULost(_ReplicaLoss):
    detail = "GPU fell off the bus: replica down until replaced"


@FAULTS.register("ecc_error")
class ECCError(_ReplicaLoss):
    detail = "uncorrectable ECC error: process killed, GPU to be replaced"


@FAULTS.register("tp_link_failure")
class TPLinkFailure(_ReplicaLoss):
    detail = "tensor-parallel interconnect failed: every shard stopped, whole replica down"


@FAULTS.register("thermal_throttle")
class ThermalThrottle(FactorFault):
    """Iterations take slow_factor times longer."""

    def full(self) -> float:
        return self.ctx.spec.slow_factor

    def describe(self) -> str:
        return f"thermal throttling: iterations x{self.ctx.spec.slow_factor:g}"


@FAULTS.register("kv_cache_exhaustion")
class KVCacheExhaustion(Fault):
    """Only a share of the KV cache stays usable; the scheduler admits fewer requests and preempts more."""

    def start(self) -> None:
        frac = self.ctx.spec.kv_cache_fraction
        for server in self.ctx.targets:
            server.kv_capacity = max(1, int(server.spec.kv_cache_tokens * frac))
            self.ctx.mark(server.name, f"KV cache exhausted: {server.kv_capacity} of "
                                       f"{server.spec.kv_cache_tokens} tokens usable")

    def stop(self) -> None:
        for server in self.ctx.targets:
            server.kv_capacity = server.spec.kv_cache_tokens
