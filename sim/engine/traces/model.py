"""A loaded trace as column arrays (no Python object per row), and the operations that keep it so."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


class TraceError(ValueError):
    """A trace file that cannot be used; the message is one line naming the file and the reason."""


@dataclass(frozen=True)
class Trace:
    """Requests of a trace, sorted by arrival: offsets from the first request (s) and token counts.

    Optional columns are None when the trace has none. Prefix block ids are stored flat, CSR-style:
    the blocks of row i are ``block_ids[block_starts[i]:block_starts[i + 1]]``.
    """

    offsets_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    loaded_span_s: float = 0.0
    """Span of the trace as loaded (before any rotation or resampling): it sets the replay period."""
    failed: np.ndarray | None = None
    """True where the row records a failed request (replayed as a failure)."""
    model_codes: np.ndarray | None = None
    model_names: tuple[str, ...] = ()
    sessions: np.ndarray | None = None
    block_ids: np.ndarray | None = None
    block_starts: np.ndarray | None = None
    block_tokens: int = 512
    notes: tuple[str, ...] = field(default=())
    """What loading dropped or changed (skipped failed rows, filters), for `validate` to report."""

    def __len__(self) -> int:
        return len(self.offsets_s)

    @property
    def period_s(self) -> float:
        """Replay period of a looped trace (see ``replay_period_s``)."""
        return replay_period_s(self.loaded_span_s, len(self))

    @property
    def span_s(self) -> float:
        """Time from the first to the last arrival."""
        return float(self.offsets_s[-1]) if len(self.offsets_s) else 0.0

    def model_of(self, i: int) -> str | None:
        """The model row i asked for, or None when the trace has no model column."""
        if self.model_codes is None:
            return None
        return self.model_names[int(self.model_codes[i])]

    def blocks_of(self, i: int) -> np.ndarray | None:
        """Prefix block ids of row i, or None when the trace has none."""
        if self.block_ids is None:
            return None
        return self.block_ids[self.block_starts[i] : self.block_starts[i + 1]]

    def take(self, rows: np.ndarray, offsets_s: np.ndarray | None = None) -> Trace:
        """The given rows in the given order, with new offsets if given (block lists follow their rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        blocks, starts = self.block_ids, self.block_starts
        if blocks is not None:
            lengths = np.diff(starts)[rows]
            new_starts = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum(lengths, out=new_starts[1:])
            # index of every kept block: its row's old start plus its position within the row
            within = np.arange(int(new_starts[-1]), dtype=np.int64) - np.repeat(new_starts[:-1], lengths)
            blocks = blocks[np.repeat(starts[:-1][rows], lengths) + within]
            starts = new_starts

        def pick(column: np.ndarray | None) -> np.ndarray | None:
            return None if column is None else column[rows]

        return replace(
            self,
            offsets_s=self.offsets_s[rows] if offsets_s is None else offsets_s,
            prompt_tokens=self.prompt_tokens[rows],
            output_tokens=self.output_tokens[rows],
            failed=pick(self.failed),
            model_codes=pick(self.model_codes),
            sessions=pick(self.sessions),
            block_ids=blocks,
            block_starts=starts,
        )


def replay_period_s(span_s: float, rows: int) -> float:
    """The span plus one mean gap, so the last and first requests of a looped replay are as far
    apart as an average pair (1 s for a one-row trace)."""
    if rows <= 1:
        return 1.0
    return span_s + span_s / (rows - 1)
