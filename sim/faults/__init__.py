"""Fault families, one module each, registered by kind in ``FAULTS``."""

from sim.faults import crash  # noqa: F401  (registers the family)
from sim.faults.base import FAULTS, Fault, FaultContext, schedule_faults

__all__ = ["FAULTS", "Fault", "FaultContext", "schedule_faults"]
