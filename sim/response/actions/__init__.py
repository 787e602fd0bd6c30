"""Runbook action kinds, one module per family; each registers itself in ``ACTIONS``."""

from sim.response.actions import capacity, deploy, failover, faults, reimage, traffic  # noqa: F401  (registration)
from sim.response.actions.base import ACTIONS, Action, ActionContext

__all__ = ["ACTIONS", "Action", "ActionContext"]
