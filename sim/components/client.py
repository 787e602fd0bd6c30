"""A client population: generates requests, sends attempts, times out, retries, records outcomes.

The client is where a request begins and ends: it is the only place that records an outcome, so
every request ends exactly once. Open loop: arrivals do not wait for earlier requests.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from heapq import heappush
from typing import Any

from simpy.events import NORMAL

from sim.components.deadlines import attempt_deadline_s
from sim.components.effects import Effects
from sim.components.lifecycle import Holds
from sim.components.policies import ClientPolicies, Retry
from sim.engine.blame import RetryTrail
from sim.engine.distributions import Exponential, Sampler, UniformSampler
from sim.engine.request import SERVED, Attempt, Request
from sim.engine.traces import Trace, replay_period_s
from sim.engine.world import DUE, World

_new = object.__new__


class Client:
    """Sends requests to its load balancers; holds a retry policy, a per-attempt timeout and its other
    policies (``ClientPolicies``: balancer selection, throttling, overall deadline, priority)."""

    kind = "client"

    def __init__(self, world: World, name: str, zone: str | None, balancers: list[Any], users: int,
                 prompt: Sampler | None, output: Sampler | None, timeout_s: float | None, retry: Retry | None,
                 cancel_on_timeout: bool, discovery: Any = None, discovery_ttl_s: float = 0.0,
                 policies: ClientPolicies | None = None):
        self.world = world
        self.name = name
        self.zone = zone
        self.balancers = balancers
        self.users = users
        self.prompt = prompt
        self.output = output
        self.timeout_s = timeout_s
        self.retry = retry
        self.retry_trail = RetryTrail() if retry is not None else None
        """Its retries, for blame: a load-caused change names them with their amplification and origin."""
        self.origin_fault: str | None = None
        """The fault that created this population (bots), or None."""
        self.cancel_on_timeout = cancel_on_timeout
        self.discovery = discovery
        self.discovery_ttl_s = discovery_ttl_s
        self._resolved_until = -math.inf
        self._lookup_done_s = -math.inf
        """When the population's slow lookup in progress answers (a DNS cache cut off)."""
        self._u = UniformSampler(world.streams.get(name, "routing"))
        self.rate_multiplier = 1.0
        """Cached ``arrival_rate`` effect: surges multiply it (trace clients replay each arrival about m times)."""
        self.poison_probability = 0.0
        """Cached ``poison_share`` effect: share of new requests that are poison."""
        self.effects = Effects(("arrival_rate", "poison_share"), self._effect_changed)
        self.holds = Holds()
        self._fault_u = UniformSampler(world.streams.get(name, "faults"))
        policies = policies or ClientPolicies()
        self.policies = policies
        self.selection = policies.selection
        """Which load balancer an attempt goes to (None: uniformly random over ``balancers``)."""
        self.overall_timeout_s = policies.overall_timeout_s
        """Deadline of a whole request (retries included), or None."""
        self.throttle = policies.throttle
        """Client-side adaptive throttling (SRE book), or None."""
        self.static_stability = policies.static_stability
        """Keep using the last-known-good discovery answer when discovery fails."""
        self.priority = policies.priority
        self._resolved_once = False
        self._current: dict[int, Attempt] = {}
        self.live: dict[int, Request] = {}
        """Requests that arrived and have not ended: the independent side of the accounting check."""
        self._ids = 0
        self._pending: deque[Attempt] = deque()
        """Attempts in send order, for the shared timeout timer; an attempt that ends early stays until the
        FIFO is compacted (lazy deletion), so at most about half of it is finished attempts."""
        self._ended_early = 0
        self._timer_armed = False
        self._mix: tuple[list[str], list[float], UniformSampler] | None = None
        self._record_outcome = world.metrics.outcome
        """The one place a request's outcome is recorded (bound once: it is called for every request)."""
        self._record_arrival = world.metrics.arrival
        """Counts a new request and its first attempt (bound once, as ``_record_outcome``)."""
        self._reply_to_me = self._reply
        """Every attempt's ``reply`` (bound once, not once per attempt)."""

    # --- arrivals ----------------------------------------------------------------------------------
    def start_rate(self, rate_rps: float, steps: list[tuple[float, float]], gap: Sampler) -> None:
        """Renewal arrivals: ``gap`` samples inter-arrival times at rate 1; the rate follows the schedule.

        At a rate change the pending gap is redrawn at the new rate (exact for Poisson arrivals,
        whose gaps are memoryless; an approximation for Gamma).
        """
        self._gap = gap
        self._steps = sorted(steps)
        self._rate = rate_rps
        self._epoch = 0
        for at_s, _ in self._steps:
            self.world.call_later(at_s, self._rate_change)
        self._schedule_next()

    def _rate_change(self) -> None:
        at_s, rate = self._steps.pop(0)
        self._rate = rate
        self._epoch += 1
        self._schedule_next()

    def _schedule_next(self) -> None:
        rate = self._rate * self.rate_multiplier
        if rate > 0:
            self._arrival = self.world.call_later(self._gap() / rate, self._poisson_arrival, self._epoch)

    def _effect_changed(self, name: str, value: float) -> None:
        if name == "arrival_rate":
            self.set_rate_multiplier(value)
        else:
            self.poison_probability = value

    def hold(self, key: str, cause: Any) -> None:
        """A client population is not held down (its arrival rate is an effect)."""
        raise TypeError(f"{self.name}: a client is not held down; set its arrival_rate effect")

    def release(self, key: str, cause: Any) -> bool:
        return False

    def add_population(self, name: str, rate_rps: float, retry: Any, timeout_s: float | None,
                       origin_fault: str | None = None) -> Client:
        """A new population beside this one (bots): same load balancers, zone, users, token mix and discovery,
        Poisson arrivals at ``rate_rps``, retrying with ``retry``. It is registered with the world's
        components (results count it like any client); ``origin_fault``: the fault that created it (the load
        it adds is that fault's, for blame)."""
        world = self.world
        streams = world.streams
        other = Client(world, name, self.zone, self.balancers, self.users,
                       Sampler(self.prompt.dist, streams.get(name, "prompt_tokens")),
                       Sampler(self.output.dist, streams.get(name, "output_tokens")),
                       timeout_s, retry, False, self.discovery, self.discovery_ttl_s)
        other.origin_fault = origin_fault
        other.start_rate(rate_rps, [], Sampler(Exponential(1.0), streams.get(name, "arrivals")))
        world.components[name] = other
        return other

    def set_rate_multiplier(self, multiplier: float) -> None:
        """Multiply the arrival rate from now on (the pending gap is redrawn, as at a rate change)."""
        self.rate_multiplier = multiplier
        if hasattr(self, "_gap"):
            self._epoch += 1
            self._schedule_next()

    def _poisson_arrival(self, epoch: int) -> None:
        if epoch != self._epoch:
            return
        self.arrive(int(self.prompt()), int(self.output()))
        rate = self._rate * self.rate_multiplier  # ``_schedule_next``, inline
        if rate > 0:
            world = self.world
            if epoch == self._epoch:  # the timer that just fired (this epoch's only one) goes back on the heap
                timer = self._arrival  # for the next arrival: ``call_later`` without a new Timer or call
                timer.callbacks = DUE
                heappush(world.heap, (world.env.now + self._gap() / rate, NORMAL, next(world.event_ids), timer))
            else:  # the arrival itself changed the rate (it scheduled the new epoch's stream): as before
                self._arrival = world.call_later(self._gap() / rate, self._poisson_arrival, self._epoch)

    def start_trace(self, trace: Trace, time_scale: float, loop: bool, use_trace_tokens: bool) -> None:
        """Replay a trace: arrival offsets scaled by ``time_scale``; tokens from the trace or the samplers."""
        self._trace = trace
        self._offsets = (trace.offsets_s * time_scale).tolist()
        self._tprompt = trace.prompt_tokens.tolist()
        self._toutput = trace.output_tokens.tolist()
        self._trace_tokens = use_trace_tokens
        self._tfailed = None if trace.failed is None else trace.failed.tolist()
        self._tsessions = None if trace.sessions is None else trace.sessions.tolist()
        self._trace_rows = not (trace.block_ids is None and trace.sessions is None and trace.model_codes is None)
        self._loop = loop
        self._period_s = replay_period_s(trace.loaded_span_s * time_scale, len(self._offsets))
        self._index = 0
        self._base_s = 0.0
        self.world.call_later(self._offsets[0], self._trace_arrival)

    def _trace_arrival(self) -> None:
        i = self._index
        copies = 1
        if self.rate_multiplier != 1.0:
            m = self.rate_multiplier
            copies = int(m) + (1 if self._fault_u() < m - int(m) else 0)
        for _ in range(copies):
            if self._trace_tokens:
                prompt, output = self._tprompt[i], self._toutput[i]
            else:
                prompt, output = int(self.prompt()), int(self.output())
            self.arrive(prompt, output, self._tfailed is not None and self._tfailed[i],
                        self._trace_row(i) if self._trace_rows else None)
        i += 1
        if i >= len(self._offsets):
            if not self._loop:
                return
            i = 0
            self._base_s += self._period_s
        self._index = i
        delay = self._base_s + self._offsets[i] - self.world.env.now
        self.world.call_later(max(0.0, delay), self._trace_arrival)

    def _trace_row(self, i: int) -> tuple[list[int] | None, int | None, str | None]:
        """Prefix block ids, session and model of trace row i (None where the trace has none)."""
        trace = self._trace
        blocks = trace.blocks_of(i) if self._trace_tokens else None
        session = None if self._tsessions is None else self._tsessions[i]
        return (None if blocks is None else blocks.tolist()), session, trace.model_of(i)

    def set_model_mix(self, models: list[str], weights: list[float], u: UniformSampler) -> None:
        """Each new request asks for one of ``models`` with probability proportional to its weight."""
        total = sum(weights)
        edges, acc = [], 0.0
        for w in weights:
            acc += w / total
            edges.append(acc)
        self._mix = (models, edges, u)

    def _mixed_model(self) -> str:
        models, edges, u = self._mix
        if len(models) == 1:
            return models[0]
        x = u()
        return models[min(bisect.bisect_right(edges, x), len(models) - 1)]

    # --- request lifecycle -------------------------------------------------------------------------
    def arrive(self, prompt_tokens: int, output_tokens: int, trace_failed: bool = False,
               row: tuple[list[int] | None, int | None, str | None] | None = None) -> Request:
        """A new request from a random user; ``trace_failed``: the trace recorded it as failed;
        ``row``: its trace's prefix block ids, session and model."""
        now = self.world.env.now
        self._ids += 1
        user = int(self._u() * self.users)
        req = _new(Request)  # ``Request.__init__``, inline (every request): every field, in its order
        req.id = self._ids
        req.client = self.name
        req.user = user
        req.t_arrival_s = now
        req.prompt_tokens = prompt_tokens if prompt_tokens > 1 else 1
        req.output_tokens = output_tokens if output_tokens > 1 else 1
        req.attempts = 0
        req.done = False
        req.outcome = None
        req.t_done_s = 0.0
        req.ttft_s = None
        req.priority = self.priority
        req.poison = False
        req.trace_failed = trace_failed
        req.prefix_blocks = None
        req.session = None
        req.model = None
        if row is not None:
            req.prefix_blocks, req.session, req.model = row
        if self._mix is not None and req.model is None:
            req.model = self._mixed_model()
        self.live[req.id] = req
        if self.overall_timeout_s is not None:
            self.world.call_later(self.overall_timeout_s, self._overall_expired, req)
        if self.poison_probability and self._fault_u() < self.poison_probability:
            req.poison = True
        self._record_arrival(now)  # counts its first attempt too
        self._send(req, now)
        return req

    def send(self, req: Request) -> None:
        """Send another attempt of a request (a retry)."""
        now = self.world.env.now
        self.world.metrics.attempt(now)
        self._send(req, now)

    def _send(self, req: Request, now: float) -> None:
        """Send one attempt of a request (counted by the caller)."""
        world = self.world
        req.attempts += 1
        att = _new(Attempt)  # ``Attempt.__init__``, inline (every attempt): every field, in its order
        att.request = req
        att.number = req.attempts
        att.t_start_s = now
        att.finished = False
        att.cancelled = False
        att.reply = self._reply_to_me
        att.path_latency_s = 0.0
        att.server = None
        att.t_service_start_s = None
        att.t_first_token_s = None
        att.generated = 0
        att.wrong = False
        if self.throttle is not None and not self.throttle.admit():
            att.finished = True
            self._finish(req, "rejected", att)
            return
        if self.retry is not None and self.retry.counts_attempts:
            self.retry.attempt_started(att.number)
        if self.overall_timeout_s is not None:
            self._current[req.id] = att
        if self.timeout_s is not None:
            self._pending.append(att)
            if not self._timer_armed:
                self._timer_armed = True
                world.call_later(self.timeout_s, self._expire)
        if self.discovery is not None and now >= self._resolved_until:
            delay_s = self.discovery.lookup_delay_s
            if delay_s:  # a slow lookup: one at a time per population; attempts wait for its answer
                if now >= self._lookup_done_s:
                    self._lookup_done_s = now + delay_s
                world.call_later(self._lookup_done_s - now, self._looked_up, att)
                return
            if not self._resolve(now):
                self._reply(att, "network_error")
                return
        selection = self.selection  # ``_dispatch``, inline (every attempt)
        if selection is not None:
            lb = selection.pick(req, self._u)
        else:
            balancers = self.balancers
            lb = balancers[0] if len(balancers) == 1 else balancers[int(self._u() * len(balancers))]
        network = world.network
        if network.unimpaired:  # ``network.hop_s``, inline (every attempt)
            zone = self.zone
            latency = 0.0 if zone is None or lb.zone is None else network.one_way_s[(zone, lb.zone)]
        else:
            latency = network.hop_s(self.zone, lb.zone, self.name, lb.name)
        if latency < 0:
            self._reply(att, "network_error")
            return
        if latency:
            att.path_latency_s = latency
            world.call_later(latency, lb.handle, att)
        else:
            lb.handle(att)

    def _resolve(self, now: float) -> bool:
        """Look the load balancers up (the answer is cached for the discovery TTL); False: no usable answer."""
        if self.discovery.resolve():
            self._resolved_until = now + self.discovery_ttl_s
            self._resolved_once = True
            return True
        return self.static_stability and self._resolved_once

    def _looked_up(self, att: Attempt) -> None:
        """A slow lookup answered: the attempts that waited for it go on (unless they timed out meanwhile)."""
        if att.finished:
            return
        now = self.world.env.now
        if now >= self._resolved_until and not self._resolve(now):
            self._reply(att, "network_error")
            return
        self._dispatch(att)

    def _dispatch(self, att: Attempt) -> None:
        """Send a resolved attempt to a load balancer."""
        world = self.world
        req = att.request
        selection = self.selection
        if selection is not None:
            lb = selection.pick(req, self._u)
        else:
            balancers = self.balancers
            lb = balancers[0] if len(balancers) == 1 else balancers[int(self._u() * len(balancers))]
        latency = world.network.hop_s(self.zone, lb.zone, self.name, lb.name)
        if latency < 0:
            self._reply(att, "network_error")
            return
        if latency:
            att.path_latency_s = latency
            world.call_later(latency, lb.handle, att)
        else:
            lb.handle(att)

    def _reply(self, att: Attempt, outcome: str, delivered: bool = False) -> None:
        """The response leaves the server (or a proxy); it reaches the client after the path latency
        (``delivered``: it has, now), and ends the attempt unless something else ended it first."""
        if att.path_latency_s and not delivered:
            self.world.call_later(att.path_latency_s, self._reply, att, outcome, True)
            return
        if att.finished:
            return
        att.finished = True
        if self.timeout_s is not None:
            ended = self._ended_early = self._ended_early + 1  # ended before its timeout (``_compact_pending``)
            if ended >= 32 and 2 * ended >= len(self._pending):
                self._compact_pending()
        served = outcome in SERVED
        if served and att.request.trace_failed:
            outcome = "server_error"  # the trace recorded a failure: the work was done, the answer is an error
            served = False
        if self.retry is not None and self.retry.counts_attempts:
            self.retry.attempt_ended(att.number, served)
        if self.throttle is not None:
            self.throttle.record(outcome)
        if served:
            req = att.request
            if att.t_first_token_s is not None:
                req.ttft_s = att.t_first_token_s + att.path_latency_s - req.t_arrival_s
            if att.wrong and outcome == "success":
                outcome = "wrong_answer"
            if req.done:  # ``_finish``, inline (every served request)
                raise RuntimeError(f"request {req.id} of {self.name} ended twice")
            req.done = True
            req.outcome = outcome
            del self.live[req.id]
            if self.overall_timeout_s is not None:
                self._current.pop(req.id, None)
            now = req.t_done_s = self.world.env.now
            start_s = att.t_service_start_s
            self._record_outcome(req, outcome, now, None if start_s is None else start_s - att.t_start_s, att.server)
        else:
            self._failed(att, outcome)

    def _expire(self) -> None:
        """Time out every attempt whose deadline has come, then re-arm for the oldest one still open.

        All attempts of a client share one timeout, so deadlines come in send order: a single timer
        walking a FIFO replaces one scheduled event per attempt, and finished attempts cost nothing.
        """
        now = self.world.env.now
        timeout_s = self.timeout_s
        while self._pending:
            pending = self._pending  # a reply caused by a timeout may compact the FIFO: read it afresh
            att = pending[0]
            if att.finished:
                pending.popleft()
            elif att.t_start_s + timeout_s <= now:
                pending.popleft()
                self._timed_out(att)
            else:
                self.world.call_later(att.t_start_s + timeout_s - now, self._expire)
                return
        self._timer_armed = False

    def _compact_pending(self) -> None:
        """Drop the ended attempts from the timeout FIFO. ``_reply`` counts the attempts that end before their
        timeout and compacts once at least half of the FIFO may be ended attempts: O(1) amortized per attempt,
        and memory follows the attempts in flight rather than the send rate times the timeout."""
        self._pending = deque(a for a in self._pending if not a.finished)
        self._ended_early = 0

    def _timed_out(self, att: Attempt) -> None:
        att.finished = True
        if self.retry is not None and self.retry.counts_attempts:
            self.retry.attempt_ended(att.number, False)
        if self.throttle is not None:
            self.throttle.record("timeout")
        if self.cancel_on_timeout and att.server is not None:
            server = self.world.components.get(att.server)
            if server is not None:
                server.cancel(att)
        self._failed(att, "timeout")

    def _failed(self, att: Attempt, reason: str) -> None:
        req = att.request
        retry = self.retry
        if retry is not None and retry.should_retry(reason, att.number):
            backoff_s = retry.backoff_s(att.number)
            world = self.world
            overall_s = self.overall_timeout_s  # ``retry_fits``, inline (every retry)
            if overall_s is None or world.env.now + backoff_s < req.t_arrival_s + overall_s:
                self.retry_trail.retried(world.env.now, self._ids, att.server, world.timeline)
                world.call_later(backoff_s, self.send, req)
                return
        self._finish(req, reason, att)

    def _overall_expired(self, req: Request) -> None:
        """The request's overall deadline: the attempt in flight times out and is not retried."""
        att = self._current.get(req.id)
        if not req.done and att is not None and not att.finished:
            self._timed_out(att)

    def deadline_of(self, att: Attempt) -> float:
        """The deadline this client set on an attempt (what deadline propagation carries)."""
        req = att.request
        return attempt_deadline_s(att.t_start_s, self.timeout_s, req.t_arrival_s, self.overall_timeout_s)

    def _finish(self, req: Request, outcome: str, att: Attempt) -> None:
        if req.done:
            raise RuntimeError(f"request {req.id} of {self.name} ended twice")
        req.done = True
        req.outcome = outcome
        del self.live[req.id]
        if self.overall_timeout_s is not None:
            self._current.pop(req.id, None)
        req.t_done_s = self.world.env.now
        wait = None if att.t_service_start_s is None else att.t_service_start_s - att.t_start_s
        self._record_outcome(req, outcome, req.t_done_s, wait, att.server)

    @property
    def arrived(self) -> int:
        """Requests that arrived so far."""
        return self._ids

    def report(self) -> dict[str, object]:
        """End-of-run figures for the run summary, as plain data."""
        return {"kind": self.kind}

    def in_flight_arrivals_s(self) -> list[float]:
        """Arrival times of this client's requests that have not ended yet (for the run's accounting)."""
        return [req.t_arrival_s for req in self.live.values()]
