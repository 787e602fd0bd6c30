"""The control plane that DNS / service discovery depends on (Kubernetes API servers, say).

It has a capacity in operations per second and a load: a base load plus a share per node of the
fleet. While the load exceeds the capacity it is overloaded and cannot serve discovery, so clients
fail once their cached records expire (the OpenAI outage of 2024-12-11, replayed in
scenarios/incidents/openai-2024-12-11-control-plane-dns.yaml). The defaults are illustrations.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.spec.common import StrictModel


class ControlPlaneSpec(StrictModel):
    """Capacity and steady load of the control plane."""

    capacity_ops_s: float = Field(1000.0, gt=0, description="Operations per second it can serve.")
    base_ops_s: float = Field(100.0, ge=0, description="Steady load independent of the fleet size.")
    ops_per_node_s: float = Field(5.0, ge=0, description="Steady load per server node.")
    recover_below: float = Field(
        0.9, gt=0, le=1, description="Overloaded until the load falls below this share of the capacity."
    )
    restart_s: float = Field(30.0, ge=0, description="Time to come back once the load has fallen.")
    record_ttl_s: float = Field(
        300.0, ge=0, description="Discovery keeps answering from its last records this long after the control "
        "plane stops serving (the records' TTL; CoreDNS-style cache). Illustration."
    )

    @model_validator(mode="after")
    def _not_born_overloaded(self) -> ControlPlaneSpec:
        if self.base_ops_s >= self.capacity_ops_s:
            raise ValueError("base_ops_s must be below capacity_ops_s")
        return self
