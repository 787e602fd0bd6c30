"""What one run contributes to an experiment: a flat row of named numbers, and targets over them.

A run's summary is nested (``measured.latency_s.p99``); experiments need one number per name
(``latency_p99_s``) so replications can be averaged and tables written. ``--analysis`` adds the
metastability verdict and recovery time, which take a little longer to compute.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sim.analysis.stats import one_sided_bound
from sim.engine.request import FAILURE_REASONS

HEADLINE = ("availability", "goodput_rps", "latency_p99_s", "ttft_p99_s")
"""The metrics a replication's precision, a comparison's tests and a sweep's figures are about by default."""

_QUANTILES = ("mean", "p50", "p90", "p99", "max")
LOWER_IS_BETTER_PREFIXES = ("latency_", "ttft_", "tpot_", "attempts_", "stuck", "recovery_", "failed_")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is the better one (availability yes, latency no)."""
    return not metric.startswith(LOWER_IS_BETTER_PREFIXES)


def metrics_of(summary: dict[str, Any]) -> dict[str, float | None]:
    """The flat metrics of one run's summary (None where the run has no data, e.g. TTFT in plain mode)."""
    m = summary["measured"]
    out: dict[str, float | None] = {
        "availability": m["availability"],
        "served_ratio": m["served_ratio"],
        "goodput_rps": m["goodput_rps"],
        "attempts_per_request": summary["attempts_per_request"],
        "ended": m["ended"],
    }
    for family in ("latency", "ttft", "tpot"):
        stats = m[f"{family}_s"]
        for q in _QUANTILES:
            out[f"{family}_{q}_s"] = stats[q]
    ended = m["ended"]
    for reason in FAILURE_REASONS:
        out[f"failed_{reason}_share"] = m["failures"].get(reason, 0) / ended if ended else None
    return out


def analysis_metrics(result: Any) -> dict[str, float | None]:
    """Metastability of one run: ``stuck`` (1 if it never returned to steady state) and ``recovery_s``
    (seconds from the last trigger's end to the return to steady state; None when it did not return).
    """
    from sim.analysis.metastability import metastability
    from sim.analysis.windows import Series

    meta = metastability(result, Series(result))
    return {"stuck": 1.0 if meta["verdict"] == "stuck" else 0.0, "recovery_s": meta.get("recovered_after_s")}


def values(rows: Iterable[dict[str, Any]], metric: str) -> list[float]:
    """The finite values of ``metric`` over rows (runs without the metric, or failed runs, are left out)."""
    out = []
    for row in rows:
        v = row.get(metric)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Target:
    """An expectation on the mean of a metric, e.g. ``availability>=0.999``."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        """``'availability>=0.999'`` -> Target; raises ValueError with a one-line reason."""
        match = _TARGET.match(text)
        if not match:
            raise ValueError(f"target '{text}': expected METRIC>=VALUE (or <=, >, <), e.g. availability>=0.999")
        try:
            value = float(match.group(3))
        except ValueError:
            raise ValueError(f"target '{text}': '{match.group(3)}' is not a number") from None
        return cls(match.group(1), match.group(2), value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def bound(self, samples: list[float], confidence: float) -> float | None:
        """The one-sided t bound of the mean on the side the target constrains (lower for >=)."""
        if len(samples) < 2:
            return None
        side = "lower" if self.op in (">=", ">") else "upper"
        return one_sided_bound(samples, confidence, side)

    def met(self, samples: list[float], confidence: float) -> tuple[bool, float | None]:
        """Whether the target holds with ``confidence`` (the bound itself satisfies it), and the bound."""
        b = self.bound(samples, confidence)
        return (b is not None and _OPS[self.op](b, self.value)), b
