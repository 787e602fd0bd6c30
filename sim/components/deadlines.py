"""A client's deadlines: per-attempt and overall (retries included).

A client's attempt has a deadline: its start plus the per-attempt timeout, and never later than the
request's overall deadline (arrival plus ``overall_timeout_s``). Deadline propagation to servers
(``sim.resilience.policies.deadline``) carries this value.
"""

from __future__ import annotations

import math


def attempt_deadline_s(t_start_s: float, timeout_s: float | None, t_arrival_s: float,
                       overall_timeout_s: float | None) -> float:
    """The absolute time after which nobody waits for this attempt's answer."""
    deadline = math.inf if timeout_s is None else t_start_s + timeout_s
    if overall_timeout_s is not None:
        deadline = min(deadline, t_arrival_s + overall_timeout_s)
    return deadline


def retry_fits(now_s: float, backoff_s: float, t_arrival_s: float, overall_timeout_s: float | None) -> bool:
    """Whether a retry after ``backoff_s`` still starts before the request's overall deadline."""
    return overall_timeout_s is None or now_s + backoff_s < t_arrival_s + overall_timeout_s
