"""Overload: a traffic surge (multiplier profile, e.g. a launch-day ramp) and bot traffic that ignores backoff.

A surge only multiplies the targeted clients' arrival rate; queues, timeouts and retries decide what
it does. Bots are an extra population beside the targeted one, retrying every failure at once.
"""

from __future__ import annotations

from typing import Any

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


@FAULTS.register("surge")
class Surge(Fault):
    """Multiply the targeted clients' arrival rates along the profile (the ``arrival_rate`` effect, under
    this fault's source: overlapping surges multiply); the end clears it."""

    def start(self) -> None:
        for offset_s, m in surge_steps(surge_points(self.ctx.spec)):
            if offset_s <= 0:
                self._step(m)
            else:
                self.ctx.timers.call_later(offset_s, self._step, m)

    def _step(self, multiplier: float) -> None:
        for client in self.ctx.targets:
            client.effects.set(self.ctx.source, "arrival_rate", multiplier)


@FAULTS.register("bot_traffic")
class BotTraffic(Fault):
    """A bot population per targeted client: same load balancers and zone, immediate retries.

    Created at the first start (``add_population`` on the client's port); between windows its own
    arrival rate is held at 0 (the ``arrival_rate`` effect, under this fault's source)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bots: list[Any] = []

    def _create(self) -> None:
        world, spec = self.ctx.world, self.ctx.spec
        for target in self.ctx.targets:
            name = f"{target.name}-bots-{spec.id}"
            retry = RetryPolicy(RetrySpec(max_attempts=spec.max_attempts, backoff_base_s=0.0, backoff_cap_s=0.0,
                                          jitter="none"), world.streams.get(name, "retry"))
            self.bots.append(target.add_population(name, spec.rate_rps, retry, spec.timeout_s, spec.id))

    def start(self) -> None:
        if not self.bots:
            self._create()
        else:
            for bot in self.bots:
                bot.effects.clear(self.ctx.source)

    def stop(self) -> None:
        for bot in self.bots:
            bot.effects.set(self.ctx.source, "arrival_rate", 0.0)
        super().stop()
