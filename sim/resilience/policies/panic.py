"""Panic mode (Envoy healthy_panic_threshold): when the share of replicas in rotation is below the
threshold, the load balancer routes to all replicas, ejected or not (better some errors than
overloading the few left)."""

from __future__ import annotations

from dataclasses import dataclass


def panic_active(in_rotation: int, total: int, threshold_percent: float) -> bool:
    """Envoy panic: the share of hosts in rotation is below the threshold."""
    return total > 0 and 100.0 * in_rotation / total < threshold_percent


@dataclass(frozen=True)
class PanicThreshold:
    """A load balancer's panic policy: ``active`` says whether to route to every replica."""

    threshold_percent: float

    def active(self, in_rotation: int, total: int) -> bool:
        return panic_active(in_rotation, total, self.threshold_percent)
