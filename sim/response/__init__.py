"""Operators: the online alert monitor, the on-call, and runbook actions acting through the port.

``start_response(scenario, world, stack)`` (called by the run after the faults are scheduled) wires
them: the monitor evaluates the alert rules at every bucket end (``sim.engine.alerting``, the same
evaluation the post-run analysis uses), the on-call is paged, acknowledges and diagnoses, and the
runbook runs each action on its schedule or once the alert it names is diagnosed.
"""

from sim.response.responders import Responders, start_response

__all__ = ["Responders", "start_response"]
