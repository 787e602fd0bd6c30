"""The control plane that DNS / service discovery depends on (Kubernetes API servers, say).

It serves calls at ``capacity_ops_s``. The calls come from the fleet: a base load (controllers), a
share per server node (kubelets, watches, lists of per-node agents), what faults add (a fleet-wide
change), and the retries of failed calls with the callers' backoff. Calls wait in a queue; a call
that waited longer than ``call_timeout_s`` fails (the server still does its work: wasted), and the
queue holds at most ``queue_limit_s`` of work (beyond it calls are rejected and retried). While
calls time out it serves nothing, so discovery cannot refresh its records and the data plane fails
once they expire (the OpenAI outage of 2024-12-11, replayed in
scenarios/incidents/openai-2024-12-11-control-plane-dns.yaml). The defaults are illustrations
unless a field names its source.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.spec.common import Name, StrictModel


class CallerRetrySpec(StrictModel):
    """How the fleet's agents retry a failed control-plane call: capped exponential backoff.

    Defaults after client-go's reflector (list-and-watch): 0.8 s doubling to 30 s, jittered. A
    call is tried at most ``max_attempts`` times (1: no retries).
    """

    max_attempts: int = Field(5, ge=1, le=50, description="Attempts per call, the first included (1 = no retry).")
    backoff_base_s: float = Field(0.8, gt=0, description="First backoff (client-go reflector: 800 ms).")
    multiplier: float = Field(2.0, ge=1, description="Growth of the backoff per attempt.")
    backoff_cap_s: float = Field(30.0, gt=0, description="Longest backoff (client-go reflector: 30 s).")
    jitter: Literal["none", "full"] = Field(
        "full", description="none: wait exactly the backoff; full: uniform in [0, backoff] (AWS 'full jitter')."
    )

    @model_validator(mode="after")
    def _cap_above_base(self) -> CallerRetrySpec:
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be at least backoff_base_s")
        return self


class ControlPlaneSpec(StrictModel):
    """Capacity of the control plane, the load its callers make, and how its calls fail."""

    capacity_ops_s: float = Field(1000.0, gt=0, description="Operations per second it can serve.")
    base_ops_s: float = Field(100.0, ge=0, description="Steady load independent of the fleet size.")
    ops_per_node_s: float = Field(5.0, ge=0, description="Steady load per server node (its agents' calls).")
    call_timeout_s: float = Field(
        60.0, gt=0, description="A call that waited longer fails (Kubernetes API server --request-timeout: 60 s)."
    )
    queue_limit_s: float = Field(
        300.0, ge=0, description="At most this much work waits (capacity x queue_limit_s operations); calls beyond "
        "it are rejected at once and retried. Below call_timeout_s no call times out: the excess is shed and "
        "the rest served (API Priority and Fairness style). Illustration."
    )
    degraded_latency_s: float = Field(
        1.0, gt=0, description="Calls waiting longer than this make it degraded (Kubernetes API call latency "
        "SLO: 1 s)."
    )
    retry: CallerRetrySpec = Field(default_factory=CallerRetrySpec, description="How callers retry failed calls.")
    record_ttl_s: float = Field(
        300.0, ge=0, description="Discovery keeps answering from its last records this long after the control "
        "plane stops serving (the records' TTL; CoreDNS-style cache). Illustration."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ControlPlaneSpec:
        if self.base_ops_s >= self.capacity_ops_s:
            raise ValueError("base_ops_s must be below capacity_ops_s")
        if self.degraded_latency_s > self.call_timeout_s:
            raise ValueError("degraded_latency_s must not exceed call_timeout_s")
        return self


class ClusterControlPlaneSpec(ControlPlaneSpec):
    """The control plane of one cluster: the pools it runs call it, and their in-cluster DNS depends on it.

    Its load comes from its own pools' nodes. When it stops serving, the cluster's DNS keeps
    answering from its cached records for ``record_ttl_s``; then the pools' replicas can no longer
    find the services they call and answer every request with an error, until it serves again.
    """

    name: Name = Field(description="Unique component name of this control plane (a fault targets it by name).")
    pools: list[Name] = Field(min_length=1, description="The pools whose nodes run in this cluster.")
