"""Network faults: added latency and packet loss on zone links, partitions, DNS failure.

Link impairments live in the network model (``sim.components.network``) and are paid on every hop
over the impaired links; what requests make of them (timeouts, retries, ejections) is left to the
mechanisms. A DNS failure only stops discovery answering: clients fail once their cached record
expires, one TTL later at most.
"""

from __future__ import annotations

from sim.components.network import Loss
from sim.faults.base import FAULTS, Fault


@FAULTS.register("network_latency")
class NetworkLatency(Fault):
    """Added one-way latency on every hop over the impaired links."""

    ramped = True

    def apply(self, level: float) -> None:
        net = self.ctx.world.network
        if level <= 0:
            net.clear(self.ctx.spec.id)
        else:
            spec = self.ctx.spec
            net.impair(spec.id, list(spec.zones), added_s=level * spec.added_latency_ms / 1e3)


@FAULTS.register("packet_loss")
class PacketLoss(Fault):
    """Loss on the impaired links: retransmission delays, and failed connections past the threshold."""

    ramped = True

    def apply(self, level: float) -> None:
        world = self.ctx.world
        net = world.network
        spec = self.ctx.spec
        if level <= 0:
            net.clear(spec.id)
            return
        net.use_loss_stream(world.streams.get("network", "loss"))
        loss = Loss(level * spec.loss_percent / 100.0, spec.rto_s, spec.max_retransmits, spec.fail_percent / 100.0)
        net.impair(spec.id, list(spec.zones), loss=loss)


@FAULTS.register("partition")
class Partition(Fault):
    """Two zones, or two components, cannot reach each other: hops between them fail (network_error)."""

    def start(self) -> None:
        a, b = self.ctx.spec.between
        net = self.ctx.world.network
        net.partition(self.ctx.spec.id, a, b, components=a not in net.zones)

    def stop(self) -> None:
        self.ctx.world.network.clear(self.ctx.spec.id)


@FAULTS.register("dns_cache_cut")
class DNSCacheCut(Fault):
    """Lookups wait out a timeout before the fallback answers (the effect ``lookup_delay_s``)."""

    end_detail = "DNS cache reachable again"

    def start(self) -> None:
        timeout_s = self.ctx.spec.lookup_timeout_s
        for discovery in self.ctx.targets:
            mark = self.ctx.mark(discovery.name, f"DNS cache cut off: lookups wait {timeout_s:g} s, then fall back")
            discovery.effects.set(self.ctx.source, "lookup_delay_s", timeout_s, mark)


@FAULTS.register("dns_failure")
class DNSFailure(Fault):
    """Discovery stops answering lookups (cached records keep working until their TTL expires)."""

    end_detail = "DNS answering again"

    def start(self) -> None:
        for discovery in self.ctx.targets:
            discovery.hold(self.ctx.source, self.ctx.cause("DNS not answering lookups"))
