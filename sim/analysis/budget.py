"""Error-budget burn of a run, as the SRE workbook counts it.

The budget is the share of requests allowed to fail, 1 - availability target, over a period
(``slo.budget_period_days``, 30 by default). Two views:
- time-based: a minute of the measured window is *bad* when any SLO tolerance fails over that
  minute (too few requests: not judged); bad minutes are compared with the period's allowance
  (1 - target) x period minutes (43.2 min for 99.9 % over 30 days);
- request-based: the run's share of failed requests divided by the allowed share is the *burn
  rate*; a run of duration d consumes burn_rate x d / period of the period's budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.analysis.windows import Series, tolerance_checks


def error_budget(data: Any, series: Series | None = None) -> dict[str, Any]:
    """Bad minutes, budget consumed (time- and request-based) and burn rate."""
    series = series or Series(data)
    slo = data.scenario.slo
    allowed_share = 1.0 - slo.availability
    period_s = slo.budget_period_days * 86400.0
    m0, n = series.measured_from, series.n
    block = series.window_buckets(max(60.0, series.bucket_s))
    bad_s = 0.0
    judged_s = 0.0
    full = tolerance_checks(series, slo, m0, window_s=block * series.bucket_s)
    for lo in range(m0, n, block):
        hi = min(n, lo + block)
        # full blocks: the trailing window at the block's last bucket is exactly the block
        checks = full if hi - lo == block else tolerance_checks(series, slo, lo, window_s=(hi - lo) * series.bucket_s)
        last = hi - 1
        span = float(series.end_s[last] - series.t_s[lo])
        if any(c.judged[last] for c in checks):
            judged_s += span
            if any(c.violated[last] for c in checks):
                bad_s += span
    ended = int(series.ended[m0:].sum())
    failed = ended - int(series.success[m0:].sum())
    measured_s = float(series.duration_s - series.t_s[m0]) if m0 < n else 0.0
    share = failed / ended if ended else None
    burn = share / allowed_share if share is not None and allowed_share > 0 else None
    allowed_bad_min = allowed_share * period_s / 60.0
    return {
        "availability_target": slo.availability,
        "period_days": slo.budget_period_days,
        "allowed_bad_minutes": allowed_bad_min,
        "bad_minutes": bad_s / 60.0,
        "judged_minutes": judged_s / 60.0,
        "time_budget_consumed": (bad_s / 60.0) / allowed_bad_min if allowed_bad_min else None,
        "failed_requests": failed,
        "ended_requests": ended,
        "failed_share": share,
        "burn_rate": burn,
        "request_budget_consumed": None if burn is None else burn * measured_s / period_s,
        "measured_s": measured_s,
        "minute_s": float(np.round(block * series.bucket_s, 9)),
    }
