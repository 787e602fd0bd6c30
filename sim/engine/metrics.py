"""Streaming request metrics: per-bucket counts and histograms, whole-run histograms.

Memory depends on run length / bucket_s and never on the number of requests (unless per-request
records are asked for). Counts go to the bucket of the moment they happen: arrivals when a request
arrives, outcomes and latencies when it ends.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from sim.engine.histogram import N_BINS, THRESHOLDS, LogHistogram, quantile_from_counts
from sim.engine.request import OUTCOME_INDEX, OUTCOMES, SUCCESS_OUTCOMES, Request

_N_SERVED = len(SUCCESS_OUTCOMES)
"""Outcomes with an index below this are served (``OUTCOMES`` lists the success outcomes first)."""
assert all(OUTCOME_INDEX[o] < _N_SERVED for o in SUCCESS_OUTCOMES)
_WRONG = OUTCOME_INDEX["wrong_answer"]


def _p99(counts: np.ndarray) -> float | None:
    """The 99th percentile of one histogram's counts (None when empty)."""
    if not counts.sum():
        return None
    return float(quantile_from_counts(counts[None, :], 0.99)[0])


class MetricsRecorder:
    """Counts every arrival, attempt and outcome; keeps latency / TTFT / TPOT histograms."""

    def __init__(self, duration_s: float, bucket_s: float, warmup_s: float, record_requests: bool = False):
        self.bucket_s = bucket_s
        self.warmup_s = warmup_s
        self.n_buckets = max(1, math.ceil(duration_s / bucket_s))
        n = self.n_buckets
        self.arrivals = [0] * n
        self.attempts = [0] * n
        self.outcomes = [[0] * len(OUTCOMES) for _ in range(n)]
        self._lat_hist: list[list[int] | None] = [None] * n
        self._ttft_hist: list[list[int] | None] = [None] * n
        """Per bucket, its latency / TTFT histogram counts; None until something is served in it."""
        self.total_arrivals = 0
        self.total_attempts = 0
        self.total_outcomes = [0] * len(OUTCOMES)
        self.latency = LogHistogram()
        self.ttft = LogHistogram()
        self.tpot = LogHistogram()
        self.measured_outcomes = [0] * len(OUTCOMES)
        self.records: list[tuple] | None = [] if record_requests else None
        self.users: dict[str, tuple[bytearray, bytearray, bytearray, bytearray, bytearray]] = {}
        """Per client, five flags per user over the measured window: sent a request; saw a bad outcome; the
        same two counting only requests that ended after ``incident_from_s``; was served a wrong answer."""
        self.incident_from_s = math.inf
        """When the first fault fired (set by the fault scheduler): impact is also counted from there on, so failures
        that happen without any fault do not inflate the blast radius."""
        self.since_ended = 0
        self.since_not_success = 0
        self.by_server: dict[str, list[int]] = {}
        """Per replica, over requests that ended after ``incident_from_s`` at that replica (their last attempt):
        [ended, not success, latency bins (N_BINS), TTFT bins (N_BINS)], so the analysis can judge each
        replica against its own share of the SLO. One list lookup per request ended after the first fault."""

    def arrival(self, t: float) -> None:
        """A new request entered the system, with its first attempt (sent at once: one call for both)."""
        b = int(t / self.bucket_s)
        if b >= self.n_buckets:
            b = self.n_buckets - 1
        self.arrivals[b] += 1
        self.total_arrivals += 1
        self.attempts[b] += 1
        self.total_attempts += 1

    def attempt(self, t: float) -> None:
        """A client or a load balancer sent another attempt (a retry; ``arrival`` counts the first)."""
        b = int(t / self.bucket_s)
        self.attempts[b if b < self.n_buckets else self.n_buckets - 1] += 1
        self.total_attempts += 1

    def outcome(self, req: Request, outcome: str, t: float, wait_s: float | None, server: str | None) -> None:
        """A request ended; called exactly once per request."""
        k = OUTCOME_INDEX[outcome]
        b = int(t / self.bucket_s)
        if b >= self.n_buckets:
            b = self.n_buckets - 1
        self.outcomes[b][k] += 1
        self.total_outcomes[k] += 1
        latency = t - req.t_arrival_s
        measured = t >= self.warmup_s
        row = None
        if measured:
            self.measured_outcomes[k] += 1
            since = t >= self.incident_from_s
            if since:
                self.since_ended += 1
                if k:
                    self.since_not_success += 1
                if server:
                    row = self.by_server.get(server)
                    if row is None:
                        row = self.by_server[server] = [0] * (2 + 2 * N_BINS)
                    row[0] += 1
                    if k:
                        row[1] += 1
            flags = self.users.get(req.client)
            user = req.user
            if flags is None or user >= len(flags[0]):
                self._user(req.client, user, k, since)
            else:  # ``_user``, inline for a user already seen
                flags[0][user] = 1
                if k:
                    flags[1][user] = 1
                    if k == _WRONG:
                        flags[4][user] = 1
                if since:
                    flags[2][user] = 1
                    if k:
                        flags[3][user] = 1
        if k < _N_SERVED:
            # each value is binned once (a binary search) for its bucket's histogram and the whole run's
            hist = self._lat_hist[b]
            if hist is None:
                hist = self._lat_hist[b] = [0] * N_BINS
            i_lat = bisect_right(THRESHOLDS, latency)
            hist[i_lat] += 1
            ttft_s = req.ttft_s
            if ttft_s is not None:
                th = self._ttft_hist[b]
                if th is None:
                    th = self._ttft_hist[b] = [0] * N_BINS
                i_ttft = bisect_right(THRESHOLDS, ttft_s)
                th[i_ttft] += 1
                if row is not None:
                    row[2 + N_BINS + i_ttft] += 1
            if row is not None:
                row[2 + i_lat] += 1
            if measured:  # ``LogHistogram.add_binned`` and ``add``, inline (every served request)
                h = self.latency
                h.counts[i_lat] += 1
                h.count += 1
                h.total += latency
                if latency > h.max:
                    h.max = latency
                if ttft_s is not None:
                    h = self.ttft
                    h.counts[i_ttft] += 1
                    h.count += 1
                    h.total += ttft_s
                    if ttft_s > h.max:
                        h.max = ttft_s
                    if req.output_tokens > 1:
                        tpot_s = (latency - ttft_s) / (req.output_tokens - 1)
                        h = self.tpot
                        h.counts[bisect_right(THRESHOLDS, tpot_s)] += 1
                        h.count += 1
                        h.total += tpot_s
                        if tpot_s > h.max:
                            h.max = tpot_s
        if self.records is not None:
            self.records.append(
                (req.id, req.client, req.user, req.t_arrival_s, t, outcome, req.attempts, latency,
                 req.ttft_s if req.ttft_s is not None else math.nan, wait_s if wait_s is not None else math.nan,
                 server or "", req.prompt_tokens, req.output_tokens)
            )

    def _user(self, client: str, user: int, k: int, since: bool) -> None:
        """Mark a user active (and hit, unless the outcome is a success); memory is bounded by the users count."""
        flags = self.users.get(client)
        if flags is None:
            flags = self.users[client] = (bytearray(), bytearray(), bytearray(), bytearray(), bytearray())
        active = flags[0]
        if user >= len(active):
            grow = bytes(user + 1 - len(active))
            for f in flags:
                f.extend(grow)
        active[user] = 1
        if k:
            flags[1][user] = 1
            if k == _WRONG:
                flags[4][user] = 1
        if since:
            flags[2][user] = 1
            if k:
                flags[3][user] = 1

    def user_counts(self) -> dict[str, int]:
        """Users who sent a request that ended in the measured window, and those who saw a non-success;
        ``*_since_first_fault`` count only requests that ended after the first fault started; ``wrong_answer``
        counts the users served at least one silently wrong answer (the truth no HTTP monitor sees)."""
        flags = list(self.users.values())
        return {"active": sum(f[0].count(1) for f in flags),
                "affected": sum(f[1].count(1) for f in flags),
                "active_since_first_fault": sum(f[2].count(1) for f in flags),
                "affected_since_first_fault": sum(f[3].count(1) for f in flags),
                "wrong_answer": sum(f[4].count(1) for f in flags)}

    def server_shares(self) -> dict[str, dict[str, float | int | None]]:
        """Per replica, what it served after the first fault: requests ended there, those not a success, and
        the p99 latency and TTFT of its served answers (None without any)."""
        out: dict[str, dict[str, float | int | None]] = {}
        for name in sorted(self.by_server):
            row = self.by_server[name]
            lat = np.asarray(row[2:2 + N_BINS], dtype=np.int64)
            ttft = np.asarray(row[2 + N_BINS:], dtype=np.int64)
            out[name] = {"ended": row[0], "not_success": row[1],
                         "p99_latency_s": _p99(lat), "p99_ttft_s": _p99(ttft)}
        return out

    def histogram_array(self, which: str) -> np.ndarray:
        """Per-bucket histogram counts, shape (n_buckets, N_BINS); which is 'latency' or 'ttft'."""
        src = self._lat_hist if which == "latency" else self._ttft_hist
        out = np.zeros((self.n_buckets, N_BINS), dtype=np.int64)
        for b, counts in enumerate(src):
            if counts is not None:
                out[b] = counts
        return out

    def bucket_histogram(self, which: str, b: int) -> list[int] | None:
        """One bucket's histogram counts ('latency' or 'ttft'); None when nothing was served in it."""
        if not 0 <= b < self.n_buckets:
            return None
        return (self._lat_hist if which == "latency" else self._ttft_hist)[b]
