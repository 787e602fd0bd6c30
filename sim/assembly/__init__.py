"""From a validated scenario to a runnable model: topology graph, wired components, fault schedule."""

from sim.assembly.topology import topology_graph
from sim.assembly.wiring import Stack, build_stack

__all__ = ["Stack", "build_stack", "topology_graph"]
