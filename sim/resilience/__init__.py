"""Resilience policies: objects components hold (retry, balancing, health checks, ...), swappable by scenario."""

from sim.resilience import prefix_affinity  # noqa: F401,E402  (registers the prefix_affinity balancer)
