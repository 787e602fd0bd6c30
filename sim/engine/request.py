"""A request (what a user asked for) and an attempt (one try of it), and the closed set of outcomes.

A request ends exactly once, with one outcome. Attempts can be abandoned (client timeout) while a
server keeps working on them: that wasted work is what turns retries into a storm.
"""

from __future__ import annotations

SUCCESS_OUTCOMES = ("success", "wrong_answer", "degraded")
"""Served outcomes: ``wrong_answer`` is served but silently bad; ``degraded`` is a fallback answer."""
SERVED = frozenset(SUCCESS_OUTCOMES)
"""The same, as a set for membership tests on the reply path."""

FAILURE_REASONS = (
    "timeout",
    "rejected",
    "rate_limited",
    "no_healthy_upstream",
    "server_error",
    "dependency_error",
    "network_error",
    "cancelled",
)
"""Why a request failed: a closed set, so every request ends in exactly one known outcome."""

OUTCOMES = SUCCESS_OUTCOMES + FAILURE_REASONS
OUTCOME_INDEX = {name: i for i, name in enumerate(OUTCOMES)}


class Request:
    """One user request: created by a client, ended exactly once with an outcome."""

    __slots__ = (
        "id", "client", "user", "t_arrival_s", "prompt_tokens", "output_tokens", "attempts", "done",
        "outcome", "t_done_s", "ttft_s", "priority", "poison", "trace_failed",
        "prefix_blocks", "session", "model",
    )

    def __init__(self, rid: int, client: str, user: int, t_arrival_s: float, prompt_tokens: int, output_tokens: int,
                 priority: int = 0, trace_failed: bool = False):
        self.id = rid
        self.client = client
        self.user = user
        self.t_arrival_s = t_arrival_s
        self.prompt_tokens = prompt_tokens
        self.output_tokens = output_tokens
        self.attempts = 0
        self.done = False
        self.outcome: str | None = None
        self.t_done_s = 0.0
        self.ttft_s: float | None = None
        self.priority = priority
        self.poison = False
        """A poison request (poison_request fault): crashes any vulnerable server that receives it."""
        self.trace_failed = trace_failed
        """The replayed trace recorded this request as failed: served work ends as a server error."""
        self.prefix_blocks: list[int] | None = None
        """Ids of the prompt's KV blocks from the trace (equal ids: reusable prefix), or None."""
        self.session: int | None = None
        """The trace's session of the request (prefix-cache key when it has no block ids), or None."""
        self.model: str | None = None
        """The model the request asks for (from the trace), or None: any pool serves it."""


class Attempt:
    """One try of a request through the stack; ``finished`` is set by whichever ends it first.

    ``reply`` is the function that carries the result back to the client (set by the client).
    ``path_latency_s`` accumulates the one-way network latency of every hop, paid again on the way back.
    """

    __slots__ = (
        "request", "number", "t_start_s", "finished", "cancelled", "reply", "path_latency_s",
        "server", "t_service_start_s", "t_first_token_s", "generated", "wrong",
    )

    def __init__(self, request: Request, number: int, t_start_s: float, reply):
        self.request = request
        self.number = number
        self.t_start_s = t_start_s
        self.finished = False
        self.cancelled = False
        self.reply = reply
        self.path_latency_s = 0.0
        self.server: str | None = None
        self.t_service_start_s: float | None = None
        self.t_first_token_s: float | None = None
        self.generated = 0
        self.wrong = False
