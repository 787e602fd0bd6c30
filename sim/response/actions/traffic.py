"""Traffic at the load balancers: limit incoming traffic, block it and ramp it back, or reroute it.

Both set the load balancers' admission effects under the action's source (``admit_rps``: a token
bucket with one second of burst; ``admit_share``: a coin per request), combined with any other
limit by the tightest (minimum); what is not admitted ends ``rate_limited`` (HTTP 429). Clearing
the source lifts exactly this action's limit. ``reroute`` sets ``cross_zone_reroute`` (counted: on
while any source holds it): a zone-aware load balancer whose zone has no replica left may then send
its traffic to the other zones' replicas; whether they can carry it is the scenario's capacity.
"""

from __future__ import annotations

from sim.response.actions.base import ACTIONS, Action


@ACTIONS.register("limit_traffic")
class LimitTraffic(Action):
    """Admit at most ``rate_rps`` (per load balancer) or ``share`` of requests, for ``duration_s`` or to the end."""

    def start(self) -> None:
        spec = self.ctx.spec
        name, value = ("admit_rps", spec.rate_rps) if spec.rate_rps is not None else ("admit_share", spec.share)
        what = f"{value:g} req/s" if name == "admit_rps" else f"{100 * value:g} % of requests"
        lbs = self.ctx.load_balancers()
        for lb in lbs:
            tid = self.ctx.mark(lb.name, f"traffic limited to {what}")
            lb.effects.set(self.ctx.source, name, value, tid)
        self.ctx.note("action starts", f"{spec.name}: incoming traffic limited to {what} at "
                                       f"{', '.join(lb.name for lb in lbs)}")
        self.ctx.note("action done", f"{spec.name}: the limit is in place")
        if spec.duration_s is not None:
            self.ctx.world.call_later(spec.duration_s, self._lift)

    def _lift(self) -> None:
        for lb in self.ctx.load_balancers():
            lb.effects.clear(self.ctx.source)
            self.ctx.mark(lb.name, "traffic limit lifted")
        self.ctx.note("action ends", f"{self.ctx.spec.name}: traffic limit lifted")


@ACTIONS.register("block_and_ramp")
class BlockAndRamp(Action):
    """Admit nothing for ``block_s``; then the admitted share rises by 1/steps every ramp_s/steps (1/steps at
    the block's end, the whole traffic at block_s + ramp_s (steps-1)/steps), as fault ramps do."""

    def start(self) -> None:
        spec = self.ctx.spec
        lbs = self.ctx.load_balancers()
        for lb in lbs:
            tid = self.ctx.mark(lb.name, "all traffic blocked")
            lb.effects.set(self.ctx.source, "admit_share", 0.0, tid)
        self.ctx.note("action starts", f"{spec.name}: all traffic blocked at {', '.join(lb.name for lb in lbs)}")
        for k in range(1, spec.steps + 1):
            self.ctx.world.call_later(spec.block_s + spec.ramp_s * (k - 1) / spec.steps, self._step, k)

    def _step(self, k: int) -> None:
        spec = self.ctx.spec
        share = k / spec.steps
        for lb in self.ctx.load_balancers():
            if share >= 1.0:
                lb.effects.clear(self.ctx.source)
            else:
                tid = self.ctx.mark(lb.name, f"ramp: admitting {100 * share:.0f} %")
                lb.effects.set(self.ctx.source, "admit_share", share, tid)
        if share >= 1.0:
            self.ctx.note("action done", f"{spec.name}: traffic ramped back to 100 %")
        else:
            self.ctx.note("action step", f"{spec.name}: admitting {100 * share:.0f} % of traffic")


@ACTIONS.register("reroute")
class Reroute(Action):
    """Zone-aware load balancers may leave their zone (``cross_zone_reroute``), for ``duration_s`` or to the end."""

    def start(self) -> None:
        spec = self.ctx.spec
        lbs = [lb for lb in self.ctx.load_balancers() if lb.zone_confined]
        for lb in lbs:
            tid = self.ctx.mark(lb.name, "rerouting: traffic may go to other zones")
            lb.effects.set(self.ctx.source, "cross_zone_reroute", 1.0, tid)
        self.ctx.note("action done", f"{spec.name}: traffic rerouted to other zones at "
                                     f"{', '.join(lb.name for lb in lbs)}")
        if spec.duration_s is not None:
            self.ctx.world.call_later(spec.duration_s, self._back)

    def _back(self) -> None:
        for lb in self.ctx.load_balancers():
            if self.ctx.source in lb.effects.sources("cross_zone_reroute"):
                lb.effects.clear(self.ctx.source)
                self.ctx.mark(lb.name, "rerouting ended: traffic stays in its zone")
        self.ctx.note("action ends", f"{self.ctx.spec.name}: rerouting ended")
