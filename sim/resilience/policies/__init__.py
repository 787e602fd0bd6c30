"""Policies a component holds, given to it when it is built: retry, balancing, queue discipline
(shedding), circuit breaker, adaptive throttling, rate limiting, outlier ejection, panic, deadlines,
fallback, readiness probes and balancer selection (health-checked DNS). Each family of swappable
implementations is a Registry whose every member passes one contract test."""

from sim.resilience.policies import prefix_affinity  # noqa: F401,E402  (registers the prefix_affinity balancer)
