"""Overload: a traffic surge (multiplier profile, e.g. a launch-day ramp) and bot traffic that ignores backoff.

A surge only multiplies the targeted clients' arrival rate; queues, timeouts and retries decide what
it does. Bots are an extra population beside the targeted one, retrying every failure at once.
"""

from __future__ import annotations

from typing import Any

from sim.components.client import Client
from sim.engine.distributions import Exponential, Sampler
from sim.faults.base import FAULTS, RAMP_STEPS, Fault
from sim.resilience.policies.retry import RetryPolicy
from sim.spec.policies import RetrySpec


def surge_points(spec: Any) -> list[tuple[float, float]]:
    """(offset from the start, multiplier) corners of the surge profile, linear in between."""
    if spec.profile is not None:
        points = [(p.at_s, p.multiplier) for p in spec.profile]
        return points if points[0][0] == 0 else [(0.0, 1.0), *points]
    m = spec.multiplier
    points = [(0.0, 1.0), (spec.ramp_s, m)] if spec.ramp_s > 0 else [(0.0, m)]
    if spec.decay_s > 0:
        points += [(spec.duration_s - spec.decay_s, m), (spec.duration_s, 1.0)]
    return points


def surge_steps(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The profile as step changes: each sloped segment becomes RAMP_STEPS equal steps."""
    steps = [(points[0][0], points[0][1])]
    for (t0, m0), (t1, m1) in zip(points, points[1:], strict=False):
        if m1 == m0 or t1 <= t0:
            steps.append((t1, m1))
            continue
        for k in range(1, RAMP_STEPS + 1):
            steps.append((t0 + (t1 - t0) * (k - 1) / RAMP_STEPS, m0 + (m1 - m0) * k / RAMP_STEPS))
    return steps


def _set_multiplier(client: Any, key: str, multiplier: float) -> None:
    """Each surge keeps its own factor on the client; the client's multiplier is their product."""
    factors = client.__dict__.setdefault("_surge_factors", {})
    if multiplier == 1.0:
        factors.pop(key, None)
    else:
        factors[key] = multiplier
    total = 1.0
    for m in factors.values():
        total *= m
    client.set_rate_multiplier(total)


@FAULTS.register("surge")
class Surge(Fault):
    """Multiply the targeted clients' arrival rates along the profile; the end restores 1x."""

    def start(self) -> None:
        world = self.ctx.world
        for offset_s, m in surge_steps(surge_points(self.ctx.spec)):
            if offset_s <= 0:
                self._step(self.occurrence, m)
            else:
                world.call_later(offset_s, self._step, self.occurrence, m)

    def _step(self, occurrence: int, multiplier: float) -> None:
        if occurrence != self.occurrence:
            return
        for client in self.ctx.targets:
            _set_multiplier(client, self.ctx.spec.id, multiplier)

    def stop(self) -> None:
        for client in self.ctx.targets:
            _set_multiplier(client, self.ctx.spec.id, 1.0)


@FAULTS.register("bot_traffic")
class BotTraffic(Fault):
    """A bot population per targeted client: same load balancers and zone, immediate retries."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bots: list[Client] = []

    def _create(self) -> None:
        world, spec = self.ctx.world, self.ctx.spec
        streams = world.streams
        for target in self.ctx.targets:
            name = f"{target.name}-bots-{spec.id}"
            retry = RetryPolicy(RetrySpec(max_attempts=spec.max_attempts, backoff_base_s=0.0, backoff_cap_s=0.0,
                                          jitter="none"), streams.get(name, "retry"))
            bot = Client(world, name, target.zone, target.balancers, target.users,
                         Sampler(target.prompt.dist, streams.get(name, "prompt_tokens")),
                         Sampler(target.output.dist, streams.get(name, "output_tokens")),
                         spec.timeout_s, retry, False, target.discovery, target.discovery_ttl_s)
            bot.start_rate(spec.rate_rps, [], Sampler(Exponential(1.0), streams.get(name, "arrivals")))
            self.ctx.stack.by_name[name] = bot
            self.bots.append(bot)

    def start(self) -> None:
        if not self.bots:
            self._create()
        else:
            for bot in self.bots:
                bot.set_rate_multiplier(1.0)

    def stop(self) -> None:
        for bot in self.bots:
            bot.set_rate_multiplier(0.0)
