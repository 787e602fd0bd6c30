"""Deadline propagation (gRPC-style deadline headers) from clients to servers.

With propagation a server can read an attempt's deadline (``sim.components.deadlines``) and drop
queued work whose client has already given up, instead of computing an answer nobody will read.
Cancellation when a client gives up is the client's ``cancel_on_timeout`` setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def propagated_deadline(world: Any) -> Callable[[Any], float]:
    """A server-side lookup of an attempt's deadline, as carried by a deadline header.

    The header is modelled by asking the attempt's client for the deadline it set (one dict lookup).
    """

    def deadline_of(att: Any) -> float:
        client = world.components.get(att.request.client)
        return math.inf if client is None else client.deadline_of(att)

    return deadline_of
