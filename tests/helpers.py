"""Small helpers shared by test modules."""

from __future__ import annotations

import copy
from types import SimpleNamespace


def merge(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class FakeWorld:
    """A minimal clock for policy unit tests: ``call_later`` queues, ``advance`` runs what is due in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list = []
        self.timeline = SimpleNamespace(last_transition={})
        self.faults = None
        """No fault ledger: no zone is out, no fault is active."""
        self._seq = 0

    def call_later(self, delay_s, fn, *args):
        self._seq += 1
        self.pending.append((self.now + delay_s, self._seq, fn, args))

    def advance(self, t_s: float) -> None:
        while True:
            due = sorted((p for p in self.pending if p[0] <= t_s), key=lambda p: (p[0], p[1]))
            if not due:
                break
            self.pending.remove(due[0])
            self.now = due[0][0]
            due[0][2](*due[0][3])
        self.now = t_s


class LiveRun:
    """A run's plain ``RunResult`` plus ``components``: the live components as the run left them.

    For tests that check a component's internal state after a run; a RunResult itself is plain data and
    holds no simulation objects. Every other attribute is the result's.
    """

    def __init__(self, result, stack) -> None:
        self.result = result
        self.components = stack.by_name

    def __getattr__(self, name: str):
        return getattr(self.result, name)


def run_live(scenario, seed=None, **options) -> LiveRun:
    """Like ``sim.run``, keeping the live components (``sim.experiment.run.run_with_stack``)."""
    from sim.experiment.run import run_with_stack

    return LiveRun(*run_with_stack(scenario, seed, **options))
