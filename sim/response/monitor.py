"""The alert rules evaluated during the run, at every bucket end, as the post-run analysis evaluates them.

At the end of bucket i the monitor reads that bucket's counts from the metrics recorder (complete:
every later event falls into a later bucket) and steps each rule's ``RuleState`` (and the quality
probe's ``ProbeState``) from ``sim.engine.alerting``. Listeners hear every firing and resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.engine.alerting import QUANTILES, Buckets, ProbeState, RuleState, rule_terms
from sim.engine.histogram import N_BINS
from sim.engine.request import OUTCOMES
from sim.engine.world import World

Listener = Callable[[str, str, dict[str, Any]], None]
"""``listener(alert name, 'fired' or 'resolved', episode)``."""


def bucket_end_s(i: int, bucket_s: float) -> float:
    """The first instant from which every event falls into a bucket after ``i`` (the recorder's
    ``int(t / bucket_s)``): ``(i + 1) * bucket_s``, nudged up where floating point rounds it down."""
    t = (i + 1) * bucket_s
    while int(t / bucket_s) <= i:
        t = math.nextafter(t, math.inf)
    return t


class OnlineMonitor:
    """Evaluates the rules and the probe once per bucket while the run goes on."""

    def __init__(self, world: World, rules: list[Any], probe: Any, seed: int, listener: Listener):
        m = world.metrics
        self.world = world
        self.bucket_s = m.bucket_s
        self.n = m.n_buckets
        self.rules = [RuleState(r, m.bucket_s, m.warmup_s, world.duration_s) for r in rules]
        self.probe = None if probe is None else ProbeState(probe, seed, m.bucket_s, m.warmup_s, world.duration_s)
        self.listener = listener
        self.arrived = 0
        self.ended = 0
        self.hists = sorted({QUANTILES[r.metric][0] for r in rules if r.metric in QUANTILES})

    def start(self) -> None:
        self._schedule(0)

    def _schedule(self, i: int) -> None:
        t = bucket_end_s(i, self.bucket_s)
        if i < self.n and t < self.world.duration_s:
            self.world.call_later(t - self.world.now, self._evaluate, i)

    def _evaluate(self, i: int) -> None:
        if int(self.world.now / self.bucket_s) <= i:  # the addition of the delay rounded down: a hair later
            self.world.call_later(math.ulp(self.world.now), self._evaluate, i)
            return
        m = self.world.metrics
        row = m.outcomes[i]
        ended = sum(row)
        self.arrived += m.arrivals[i]
        self.ended += ended
        hist: dict[str, np.ndarray] = {}
        for which in self.hists:
            counts = m.bucket_histogram(which, i)  # none served: a row of zeros, as the post-run arrays have
            hist[which] = np.asarray([counts if counts is not None else [0] * N_BINS], dtype=np.int64)
        one = Buckets(np.asarray([ended]), np.asarray([m.arrivals[i]]), np.asarray([m.attempts[i]]),
                      np.asarray([self.arrived - self.ended]),
                      {name: np.asarray([row[k]]) for k, name in enumerate(OUTCOMES)}, hist)
        for state in self.rules:
            num, den = rule_terms(state.rule, one)
            q = state.quantile
            h = hist.get(q[0]) if q is not None else None
            self._heard(state.rule.name, state.step(i, int(num[0]), int(den[0]), None if h is None else h[0]),
                        state.episodes)
        if self.probe is not None:
            served = int(one.served()[0])
            wrong = row[OUTCOMES.index("wrong_answer")]
            self._heard(self.probe.probe.name, self.probe.step(i, served, wrong), self.probe.episodes)
        self._schedule(i + 1)

    def _heard(self, name: str, event: str | None, episodes: list[dict[str, Any]]) -> None:
        if event is not None:
            self.listener(name, event, episodes[-1])

    def episodes(self) -> list[dict[str, Any]]:
        """Every firing episode so far, in firing order."""
        out = [e for s in self.rules for e in s.episodes]
        if self.probe is not None:
            out += self.probe.episodes
        return sorted(out, key=lambda e: (e["fired_s"], e["alert"]))
