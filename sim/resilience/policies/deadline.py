"""Timeouts and deadlines: per-attempt and overall deadlines, and their propagation to servers.

A client's attempt has a deadline: its start plus the per-attempt timeout, and never later than the
request's overall deadline (arrival plus ``overall_timeout_s``). With propagation (gRPC-style
deadline headers) a server can read it and drop queued work whose client has already given up,
instead of computing an answer nobody will read. Cancellation when a client gives up is the
client's ``cancel_on_timeout`` setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def attempt_deadline_s(t_start_s: float, timeout_s: float | None, t_arrival_s: float,
                       overall_timeout_s: float | None) -> float:
    """The absolute time after which nobody waits for this attempt's answer."""
    deadline = math.inf if timeout_s is None else t_start_s + timeout_s
    if overall_timeout_s is not None:
        deadline = min(deadline, t_arrival_s + overall_timeout_s)
    return deadline


def propagated_deadline(world: Any) -> Callable[[Any], float]:
    """A server-side lookup of an attempt's deadline, as carried by a deadline header.

    The header is modelled by asking the attempt's client for the deadline it set (one dict lookup).
    """

    def deadline_of(att: Any) -> float:
        client = world.components.get(att.request.client)
        return math.inf if client is None else client.deadline_of(att)

    return deadline_of


def retry_fits(now_s: float, backoff_s: float, t_arrival_s: float, overall_timeout_s: float | None) -> bool:
    """Whether a retry after ``backoff_s`` still starts before the request's overall deadline."""
    return overall_timeout_s is None or now_s + backoff_s < t_arrival_s + overall_timeout_s
