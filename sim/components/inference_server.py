"""An LLM replica with continuous batching, a KV-cache limit and a prefill/decode time model.

Cost per request, not per token: the batch runs "epochs" of decode iterations with a fixed
membership, and the simulator jumps from one composition change to the next (a request finishes,
the KV cache fills, or a waiting request can join at the next iteration boundary). Within an epoch
of B requests starting with C context tokens, iteration j takes a + b*B + c*(C + j*B), so k
iterations take k*(a + b*B + c*C) + c*B*k*(k-1)/2 — a closed form, no event per token.

Bookkeeping is O(log B) per change: with G the number of decode iterations run so far, a running
request that joined at G_j holding ctx_j tokens holds ctx_j + (G - G_j) now and finishes at
G_j + (output - generated_at_join); the batch's context is S + B*G with S = sum(ctx_j - G_j).

Scheduling follows vLLM's default: waiting requests are admitted at an iteration boundary when the
batch has a free slot and the KV cache has room for their prompt; admitted prompts run as one
prefill iteration that stalls decoding and yields each request's first token. When decoding would
overflow the KV cache, the youngest running request is preempted and later recomputed (not at
the same boundary: it is first in line at the next one). A request alone in the batch is never
preempted (recomputing it would overflow again); it runs on past the cache limit (a simplification).
tests/unit/test_llm_server.py checks all of this against an iteration-by-iteration reference.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from sim.components.prefix_cache import PrefixCache, session_blocks
from sim.components.server import ServerBase
from sim.engine.request import Attempt
from sim.engine.world import Timer, World
from sim.spec.topology import LLMServerSpec


class _Running:
    __slots__ = ("att", "ctx0", "join_g", "finish_g", "gen0", "gone")

    def __init__(self, att: Attempt, ctx0: int, join_g: int, finish_g: int, gen0: int):
        self.att = att
        self.ctx0 = ctx0
        self.join_g = join_g
        self.finish_g = finish_g
        self.gen0 = gen0
        self.gone = False


class LLMServer(ServerBase):
    """Continuous-batching LLM server (see module docstring for the time model)."""

    __slots__ = (
        "spec", "_prefill_base_s", "_prefill_per_token_s", "_decode_base_s", "_decode_per_seq_s",
        "_decode_per_context_token_s", "max_batch", "_kv_capacity", "_slow", "_heap", "_order", "_seq", "batch",
        "_s", "_g", "_timer", "_busy", "_epoch", "_cut", "_prefilling", "_cancel_pending", "preemptions",
        "prefix_cache",
    )

    def __init__(self, world: World, name: str, pool: str, zone: str, spec: LLMServerSpec, **wiring: Any):
        """``wiring``: the keyword arguments of ``ServerBase`` (dependency, dependency_calls, policies)."""
        super().__init__(world, name, pool, zone, spec.queue_capacity, spec.model_load_s, **wiring)
        self.spec = spec
        self._prefill_base_s = spec.prefill_base_s  # the time model's constants, read by the scheduler
        self._prefill_per_token_s = spec.prefill_per_token_s
        self._decode_base_s = spec.decode_base_s
        self._decode_per_seq_s = spec.decode_per_seq_s
        self._decode_per_context_token_s = spec.decode_per_context_token_s
        self.max_batch = spec.max_batch_size
        self.kv_capacity = spec.kv_cache_tokens
        self.waiting = self._new_waiting_queue()
        self._heap: list[tuple[int, int, _Running]] = []
        self._order: list[_Running] = []
        self._seq = 0
        self.batch = 0
        self._s = 0
        self._g = 0
        self._timer: Timer | None = None
        """The end of the running prefill or epoch (cancelled when the epoch is cut or the batch lost)."""
        self._busy = False
        self._epoch: tuple[float, int, float, float] | None = None  # (t0, steps, a, c2)
        self._cut = False
        self._prefilling: list[Attempt] = []
        self._cancel_pending = False
        self.preemptions = 0
        cache = spec.prefix_cache
        self.prefix_cache = None if cache is None else PrefixCache(
            max(1, cache.capacity_tokens // cache.block_tokens), cache.block_tokens
        )
        """Prefix KV blocks kept between requests (LRU), or None; emptied when the process is lost."""

    effect_names = (*ServerBase.effect_names, "kv_fraction")

    def _effect_changed(self, name: str, value: float) -> None:
        if name == "kv_fraction":
            self.kv_capacity = max(1, int(self.spec.kv_cache_tokens * value))
        else:
            super()._effect_changed(name, value)

    # --- interface ---------------------------------------------------------------------------------
    # Effects change these two mid-run. The running epoch was planned with the old value, so it ends at
    # the next iteration boundary, where the next one is planned with the new value (admission,
    # preemption and iteration time then follow the change within one iteration, as in the reference).
    @property
    def slow_factor(self) -> float:
        """Multiplier of iteration times (slowdown faults set it); applies from the next iteration."""
        return self._slow

    @slow_factor.setter
    def slow_factor(self, value: float) -> None:
        self._slow = value
        self._replan()

    @property
    def kv_capacity(self) -> int:
        """Usable KV-cache tokens (the ``kv_fraction`` effect lowers it); applies from the next iteration."""
        return self._kv_capacity

    @kv_capacity.setter
    def kv_capacity(self, value: int) -> None:
        self._kv_capacity = value
        self._replan()

    def _replan(self) -> None:
        if getattr(self, "_epoch", None) is not None and not self._cut:
            self._cut_epoch()

    def queue_length(self) -> int:
        return len(self.waiting)

    def slot_free(self) -> bool:
        """A batch slot is free for one more (those waiting join at the next iteration boundary)."""
        return self.batch + len(self.waiting) + len(self.in_dependency) < self.max_batch

    @property
    def kv_used_tokens(self) -> int:
        return self._s + self.batch * self._g

    def _enqueue(self, att: Attempt) -> None:
        self.waiting.append(att)
        if not self._busy:
            self._next()
        elif (
            self._epoch is not None
            and not self._cut
            and self.batch < self.max_batch
            and self._s + self.batch * self._g + att.request.prompt_tokens + att.generated + 1 <= self._kv_capacity
        ):
            self._cut_epoch()
        q = len(self.waiting)  # ``_check_load`` acts only on these conditions: else it is not called
        if q >= self._on_hi if self.state == "healthy" else (q <= self._on_lo and self.state == "overloaded"):
            self._check_load()

    def _cancel(self, att: Attempt) -> None:
        self._cancel_pending = True
        if self._epoch is not None and not self._cut:
            self._cut_epoch()

    def _cached_tokens(self, att: Attempt) -> int:
        """Prompt tokens whose KV blocks are cached (their prefill is skipped); stores the prompt's blocks."""
        cache = self.prefix_cache
        req = att.request
        blocks = req.prefix_blocks
        if blocks is None:
            key = req.user if req.session is None else req.session
            blocks = session_blocks(key, req.prompt_tokens, cache.block_tokens)
        hits = cache.lookup_and_store(blocks)
        return min(hits * cache.block_tokens, req.prompt_tokens - 1)  # the last token is always computed

    def _loaded(self, *args) -> None:
        if self.prefix_cache is not None:
            self.prefix_cache.clear()  # a new process: its GPU memory starts empty
        super()._loaded(*args)

    def _drop_all(self, outcome: str) -> None:
        if self.prefix_cache is not None:
            self.prefix_cache.clear()
        lost = list(self.waiting) + [r.att for r in self._order if not r.gone]
        lost += self._prefilling
        self.waiting.clear()
        self._reset()
        for att in lost:
            self._reply(att, outcome)

    # --- scheduler ---------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._heap.clear()
        self._order.clear()
        self._prefilling = []
        self.batch = 0
        self._s = 0
        self._g = 0
        if self._timer is not None:
            self._timer.cancel()  # cancelling a timer that already fired is harmless
        self._busy = False
        self._epoch = None

    def _next(self) -> None:
        """At an iteration boundary: admit and prefill, or run a decode epoch, or go idle."""
        slow = self._slow  # the properties' fields: no property call on the hot path
        self._epoch = None
        self._cut = False
        waiting = self.waiting
        batch = self.batch
        if waiting and batch < self.max_batch:
            admitted: list[Attempt] = []
            used = self._s + batch * self._g
            tokens = 0
            room = self.max_batch - batch
            kv_capacity = self._kv_capacity
            while waiting and len(admitted) < room:
                att = waiting[0]
                if att.cancelled:
                    waiting.popleft()
                    self._reply(att, "cancelled")
                    continue
                need = att.request.prompt_tokens + att.generated + 1
                if used + need > kv_capacity:
                    if batch == 0 and not admitted:
                        waiting.popleft()
                        self._reply(att, "rejected")  # can never fit in this KV cache
                        continue
                    break
                waiting.popleft()
                admitted.append(att)
                used += need
                tokens += need - 1
                if self.prefix_cache is not None:
                    tokens -= self._cached_tokens(att)
            if admitted:
                self._busy = True
                self._prefilling = admitted
                dt = (self._prefill_base_s + self._prefill_per_token_s * tokens) * slow
                world = self.world
                now = world.env.now
                for att in admitted:
                    if att.t_service_start_s is None:
                        att.t_service_start_s = now
                self._timer = world.call_later(dt, self._prefill_done)
                return
        if batch == 0:
            self._busy = False
            return
        g = self._g
        heap = self._heap
        while True:
            while heap[0][2].gone:
                heapq.heappop(heap)
            k_finish = heap[0][0] - g
            context = self._s + batch * g
            k_memory = (self._kv_capacity - context) // batch
            if k_memory >= 1 or batch == 1:
                break
            self._preempt_youngest()
            batch = self.batch
            if batch == 0:
                self._next()
                return
        k = k_finish if batch == 1 else min(k_finish, k_memory)
        a = (self._decode_base_s + self._decode_per_seq_s * batch + self._decode_per_context_token_s * context) * slow
        c2 = self._decode_per_context_token_s * batch * slow
        self._busy = True
        world = self.world
        self._epoch = (world.env.now, k, a, c2)
        self._timer = world.call_later(k * a + c2 * k * (k - 1) / 2, self._epoch_done, k)

    def _cut_epoch(self) -> None:
        """End the running epoch at the next iteration boundary so waiting work can join."""
        t0, k, a, c2 = self._epoch
        elapsed = self.world.env.now - t0
        if c2 > 0:
            b = a - c2 / 2
            j = math.ceil((-b + math.sqrt(b * b + 2 * c2 * elapsed)) / c2 - 1e-9)
        else:
            j = math.ceil(elapsed / a - 1e-9) if a > 0 else 0
        j = max(1, j)
        if j >= k:
            return
        self._cut = True
        if self._timer is not None:
            self._timer.cancel()  # cancelling a timer that already fired is harmless
        self._epoch = (t0, j, a, c2)
        t_end = t0 + j * a + c2 * j * (j - 1) / 2
        self._timer = self.world.call_later(max(0.0, t_end - self.world.env.now), self._epoch_done, j)

    def _epoch_done(self, steps: int) -> None:
        self._g += steps
        g = self._g
        heap = self._heap
        while heap and (heap[0][2].gone or heap[0][0] <= g):
            run = heapq.heappop(heap)[2]
            if run.gone:
                continue
            self._remove(run)
            att = run.att
            att.generated = att.request.output_tokens
            if self.hung or self.error_probability or self.wrong_probability or self.load_watchers:
                self._served(att)
            else:  # ``_served`` and ``_reply`` of a success, inline (every request)
                self.outstanding -= 1
                self.completed += 1
                att.reply(att, "success")
        if self._cancel_pending:
            self._cancel_pending = False
            for run in self._order:
                if not run.gone and run.att.cancelled:
                    self._remove(run)
                    self._reply(run.att, "cancelled")
        self._next()
        q = len(self.waiting)  # ``_check_load`` acts only on these conditions: else it is not called
        if q >= self._on_hi if self.state == "healthy" else (q <= self._on_lo and self.state == "overloaded"):
            self._check_load()

    def _prefill_done(self) -> None:
        now = self.world.env.now
        admitted, self._prefilling = self._prefilling, []
        g = self._g
        heap = self._heap
        order = self._order
        for att in admitted:
            if att.cancelled:
                self._reply(att, "cancelled")
                continue
            if att.t_first_token_s is None:
                att.t_first_token_s = now
            gen0 = att.generated + 1
            att.generated = gen0
            req = att.request
            remaining = req.output_tokens - gen0
            if remaining <= 0:
                self._served(att)
                continue
            ctx0 = req.prompt_tokens + gen0
            run = _Running(att, ctx0, g, g + remaining, gen0)
            self._seq += 1
            heapq.heappush(heap, (g + remaining, self._seq, run))
            order.append(run)
            self.batch += 1
            self._s += ctx0 - g
        self._next()
        q = len(self.waiting)  # ``_check_load`` acts only on these conditions: else it is not called
        if q >= self._on_hi if self.state == "healthy" else (q <= self._on_lo and self.state == "overloaded"):
            self._check_load()

    def _remove(self, run: _Running) -> None:
        run.gone = True
        self.batch -= 1
        self._s -= run.ctx0 - run.join_g
        if len(self._order) > 2 * self.batch + 2:  # no fixed slack: it would hold attempts x replicas
            self._order = [r for r in self._order if not r.gone]

    def _preempt_youngest(self) -> None:
        while self._order and self._order[-1].gone:
            self._order.pop()
        run = self._order.pop()
        att = run.att
        att.generated = run.gen0 + (self._g - run.join_g)
        self._remove(run)
        self.preemptions += 1
        self.waiting.appendleft(att)

    def report(self) -> dict[str, object]:
        """As every server's, plus the number of preemptions (KV cache full while decoding) and the prefix
        cache's figures when it has one."""
        out = {**super().report(), "preemptions": self.preemptions}
        if self.prefix_cache is not None:
            out["prefix_cache"] = self.prefix_cache.stats()
        return out
