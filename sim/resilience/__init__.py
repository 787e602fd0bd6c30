"""Resilience policies: objects components hold (retry, balancing, health checks, ...), swappable by scenario."""
