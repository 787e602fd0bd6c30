"""Passive outlier ejection (Envoy outlier detection).

A load balancer reports every reply it forwards (``observe``). Consecutive 5xx: a replica whose last
``consecutive_5xx`` replies were all 5xx (server_error, dependency_error, rejected) is ejected at
once. Success rate: every ``interval_s``, among replicas with at least
``success_rate_request_volume`` replies in the interval (and at least ``success_rate_minimum_hosts``
such replicas), one whose success rate is below mean - stdev_factor * stdev is ejected.
An ejection lasts base_ejection_time_s times the number of times the replica was ejected (capped at
max_ejection_time_s; the multiplier decreases by one every whole interval the replica stays in). At most
max_ejection_percent of the replicas are ejected at once, but always at least one may be.
"""

from __future__ import annotations

import math
from typing import Any

from sim.spec.policies import OutlierDetectionSpec

FIVE_XX = frozenset(("server_error", "dependency_error", "rejected"))


class _Host:
    __slots__ = ("consecutive", "ok", "total", "ejections", "ejected_until")

    def __init__(self) -> None:
        self.consecutive = 0
        self.ok = 0
        self.total = 0
        self.ejections = 0
        self.ejected_until: float | None = None


class OutlierDetector:
    """Envoy-style outlier detection for one load balancer."""

    def __init__(self, spec: OutlierDetectionSpec):
        self.spec = spec
        self.hosts: dict[str, _Host] = {}
        self.ejected: set[str] = set()
        self.ejection_count = 0
        self.capped = 0
        """Ejections that max_ejection_percent prevented."""
        self._lb: Any = None
        self._world: Any = None

    def start(self, world: Any, balancer: Any) -> None:
        self._world = world
        self._lb = balancer
        for s in balancer.servers:
            self.hosts[s.name] = _Host()
        world.call_later(self.spec.interval_s, self._sweep)

    def _host(self, name: str) -> _Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = _Host()
        return host

    def observe(self, server: Any, outcome: str) -> None:
        """A reply from ``server`` passed the load balancer."""
        host = self._host(server.name)
        host.total += 1
        if outcome in FIVE_XX:
            host.consecutive += 1
            if host.consecutive >= self.spec.consecutive_5xx and host.ejected_until is None:
                self._eject(server, host, f"{host.consecutive} consecutive 5xx")
        else:
            host.consecutive = 0
            host.ok += 1

    def _allowed(self) -> int:
        pct = self.spec.max_ejection_percent
        if pct <= 0:
            return 0
        return max(1, int(len(self._lb.servers) * pct / 100))

    def _eject(self, server: Any, host: _Host, why: str) -> None:
        if len(self.ejected) >= self._allowed():
            self.capped += 1
            return
        spec = self.spec
        host.ejections += 1
        duration = min(spec.max_ejection_time_s, spec.base_ejection_time_s * host.ejections)
        host.ejected_until = self._world.now + duration
        host.consecutive = 0
        self.ejected.add(server.name)
        self.ejection_count += 1
        self._lb.eject(server, f"{why}; ejected for {duration:g} s", mechanism="outlier_detection")

    def _sweep(self) -> None:
        spec = self.spec
        now = self._world.now
        by_name = {s.name: s for s in self._lb.servers}
        was_ejected = set(self.ejected)
        for name in sorted(self.ejected):
            host = self.hosts[name]
            if host.ejected_until is not None and host.ejected_until <= now:
                host.ejected_until = None
                self.ejected.discard(name)
                if name in by_name:
                    self._lb.restore(by_name[name], "ejection time over", mechanism="outlier_detection")
        for name, host in self.hosts.items():
            if name not in was_ejected and host.ejected_until is None and host.ejections > 0:
                host.ejections -= 1
        if spec.success_rate:
            self._success_rate(by_name)
        for host in self.hosts.values():
            host.ok = 0
            host.total = 0
        self._world.call_later(spec.interval_s, self._sweep)

    def _success_rate(self, by_name: dict[str, Any]) -> None:
        spec = self.spec
        rates = [(name, h.ok / h.total) for name, h in self.hosts.items()
                 if h.total >= spec.success_rate_request_volume and h.ejected_until is None]
        if len(rates) < spec.success_rate_minimum_hosts:
            return
        values = [r for _, r in rates]
        mean = sum(values) / len(values)
        stdev = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        threshold = mean - spec.success_rate_stdev_factor * stdev
        for name, rate in sorted(rates):
            if rate < threshold and name in by_name:
                self._eject(by_name[name], self.hosts[name], f"success rate {rate:.2f} < {threshold:.2f}")
