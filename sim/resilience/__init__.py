"""Resilience mechanisms: ``policies/`` that a component is given when it is built (retry, balancing,
queue discipline, breaker, throttling, rate limit, outlier ejection, panic, deadlines, fallback,
readiness, balancer selection), and ``controllers/`` that act on the fleet through the components'
port (autoscaler, rollout, maintenance, failover, liveness)."""
