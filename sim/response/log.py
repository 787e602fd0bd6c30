"""What the responders did and when: one entry per alert change, page, acknowledgement, diagnosis and action.

Plain data (it goes into ``summary.json`` under ``response``), so the post-run analysis builds the
status page from it, on a fresh run or one loaded back from its run directory.
"""

from __future__ import annotations

from typing import Any

EVENTS = ("alert fires", "alert resolves", "page", "acknowledged", "diagnosed", "action waits",
          "action starts", "action step", "action done", "action ends")
"""Kinds of entry, in the order a responder meets them."""


class ResponseLog:
    """Entries in time order (the clock only moves forward, so appending keeps the order)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, t_s: float, event: str, text: str, **fields: Any) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown response event {event!r}")
        self.entries.append({"t_s": t_s, "event": event, "text": text, **fields})
