"""Trace formats: which column holds what, in which unit; the built-in formats and shipped traces.

A format is a plain mapping, so the built-in ones (Azure, Mooncake, BurstGPT) are just named
instances of the general mapping a user writes for any other CSV or JSONL trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"

TimeUnit = Literal["s", "ms", "us", "datetime"]
SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


@dataclass(frozen=True)
class TraceFormat:
    """Where a trace keeps each field, and how to read it.

    ``failed_if_output_zero``: a row with zero output tokens records a failed request (BurstGPT logs
    failures so); otherwise zero tokens are read as one, as before.
    """

    time: str
    prompt_tokens: str
    output_tokens: str
    time_unit: TimeUnit = "s"
    model: str | None = None
    session: str | None = None
    block_ids: str | None = None
    block_tokens: int = 512
    failed_if_output_zero: bool = False
    file_kind: Literal["csv", "jsonl", "auto"] = "auto"

    def columns(self) -> list[str]:
        """The columns this format reads, in a fixed order."""
        named = [self.time, self.prompt_tokens, self.output_tokens, self.model, self.session, self.block_ids]
        return list(dict.fromkeys(c for c in named if c is not None))


FORMATS: dict[str, TraceFormat] = {
    "azure": TraceFormat("TIMESTAMP", "ContextTokens", "GeneratedTokens", time_unit="datetime", file_kind="csv"),
    "mooncake": TraceFormat(
        "timestamp", "input_length", "output_length", time_unit="ms", block_ids="hash_ids", file_kind="jsonl"
    ),
    "burstgpt": TraceFormat(
        "Timestamp", "Request tokens", "Response tokens", time_unit="s", model="Model",
        failed_if_output_zero=True, file_kind="csv",
    ),
}
"""Built-in formats: Azure LLM inference traces, Mooncake's JSONL traces, BurstGPT's CSV."""


@dataclass(frozen=True)
class BuiltinTrace:
    """A trace shipped in sim/data/ and its format."""

    file: Path
    format: str


BUILTIN_TRACES: dict[str, BuiltinTrace] = {
    "azure_conv": BuiltinTrace(DATA_DIR / "azure_conv.csv", "azure"),
    "azure_code": BuiltinTrace(DATA_DIR / "azure_code.csv", "azure"),
    "mooncake_conv": BuiltinTrace(DATA_DIR / "mooncake_conv.jsonl.gz", "mooncake"),
}


def guess_format(found: list[str]) -> str | None:
    """The built-in format whose columns are all among those found, or None."""
    for name, fmt in FORMATS.items():
        if set(fmt.columns()) <= set(found):
            return name
    return None
