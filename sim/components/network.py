"""Network between zones: one-way latency per pair, plus impairments faults may add."""

from __future__ import annotations

from sim.spec.topology import NetworkSpec


class Network:
    """Latency lookup and link impairments (added latency, loss, partition) between zones."""

    def __init__(self, spec: NetworkSpec, zones: list[str]):
        self._latency: dict[tuple[str, str], float] = {}
        for a in zones:
            for b in zones:
                ms = spec.same_zone_latency_ms if a == b else spec.cross_zone_latency_ms
                self._latency[(a, b)] = ms / 1000.0
        for link in spec.links:
            a, b = link.zones
            self._latency[(a, b)] = self._latency[(b, a)] = link.latency_ms / 1000.0
        self.partitioned: set[frozenset[str]] = set()
        """Zone pairs (or a single zone, for an isolated zone) that cannot talk."""

    def latency_s(self, zone_a: str | None, zone_b: str | None) -> float:
        """One-way latency between two zones; zero when either side has no zone."""
        if zone_a is None or zone_b is None:
            return 0.0
        return self._latency[(zone_a, zone_b)]

    def reachable(self, zone_a: str | None, zone_b: str | None) -> bool:
        """Whether a partition separates the two zones."""
        if not self.partitioned or zone_a is None or zone_b is None:
            return True
        return frozenset((zone_a, zone_b)) not in self.partitioned
