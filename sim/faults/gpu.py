"""GPU faults: a lost GPU, an uncorrectable ECC error or a failed tensor-parallel link takes the whole
replica down until the hardware is replaced (then a cold start); thermal throttling slows every
iteration; KV-cache exhaustion shrinks the usable KV cache (batching and preemption do the rest)."""

from __future__ import annotations

from typing import Any

from sim.faults.base import FAULTS, FactorFault, Fault, bring_back, hold_key, take_down


class _ReplicaLoss(Fault):
    """Down until replaced: after ``replace_s`` (instant fault, replacement is a repair) or at the window's end.

    The replacement brings the replica back only if no other fault still holds it down.
    """

    detail = "hardware failed"

    @property
    def instant(self) -> bool:
        return self.ctx.spec.replace_s is not None

    def start(self) -> None:
        replace_s = self.ctx.spec.replace_s
        key = hold_key(self) if replace_s is not None else None
        for server in self.ctx.targets:
            take_down(self.ctx, server, self.detail, key)
        if replace_s is not None:
            self.ctx.world.call_later(replace_s, self._replaced, key)

    def _replaced(self, key: str | None) -> None:
        for server in self.ctx.targets:
            bring_back(self.ctx, server, "hardware replaced", key)

    def stop(self) -> None:
        if self.ctx.spec.replace_s is None:
            self._replaced(None)


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

    @staticmethod
    def effect(spec: Any) -> float:
        return spec.slow_factor

    def describe(self) -> str:
        return f"thermal throttling: iterations x{self.ctx.spec.slow_factor:g}"


@FAULTS.register("kv_cache_exhaustion")
class KVCacheExhaustion(Fault):
    """Only a share of the KV cache stays usable; the scheduler admits fewer requests and preempts more.

    The share is the ``kv_fraction`` effect (minimum rule: overlapping exhaustions leave the smallest);
    the end clears this fault's share only."""

    def start(self) -> None:
        frac = self.ctx.spec.kv_cache_fraction
        for server in self.ctx.targets:
            total = server.spec.kv_cache_tokens
            tid = self.ctx.mark(server.name, f"KV cache exhausted: {max(1, int(total * frac))} of "
                                             f"{total} tokens usable")
            server.effects.set(self.ctx.source, "kv_fraction", frac, tid)
