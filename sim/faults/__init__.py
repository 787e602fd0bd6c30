"""Fault families, one module each, registered by kind in ``FAULTS``."""

from sim.faults import (  # noqa: F401  (each module registers its family)
    correlated,
    crash,
    dependency,
    gpu,
    maintenance,
    network,
    overload,
    software,
)
from sim.faults.base import FAULTS, Fault, FaultContext, schedule_faults

__all__ = ["FAULTS", "Fault", "FaultContext", "schedule_faults"]
