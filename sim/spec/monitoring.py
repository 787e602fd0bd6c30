"""Monitoring section: alert rules over the simulated metrics, and scheduled mitigation actions.

An alert rule is evaluated like a Prometheus rule: at every time-series bucket, the metric is
computed over the trailing ``window_s``; when it crosses ``threshold`` the alert is pending, and it
fires once the condition has held for ``for_s``. With no rules, rules are derived from the SLO
(``derive_from_slo``). Mitigations are marks on the timeline (what operators did, and when); they
do not act on the simulation. People who act are the ``response`` section's (``sim/spec/response.py``):
the on-call paged by these rules, and runbook actions that end faults and change components.

Alert rules see what a real monitor sees: HTTP errors, latency and saturation. A silently wrong
answer is an HTTP 200 with a normal latency, so no alert rule sees it; only a ``quality_probe`` (a
sampled evaluation of served answers, with its own sampling share and the delay before a verdict)
can, the way production LLM services run sampled graders or canary prompts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.spec.common import Name, StrictModel
from sim.spec.slo import BadOutcome, SLOSpec

ALERT_METRICS = (
    "success_ratio", "error_ratio", "latency_p50_s", "latency_p99_s", "ttft_p99_s", "goodput_rps",
    "arrival_rps", "attempt_rps", "in_flight",
)


class AlertSpec(StrictModel):
    """One alert rule: metric over a trailing window, compared with a threshold, for a duration."""

    name: Name = Field(description="Unique alert name.")
    metric: Literal[
        "success_ratio", "error_ratio", "latency_p50_s", "latency_p99_s", "ttft_p99_s", "goodput_rps",
        "arrival_rps", "attempt_rps", "in_flight",
    ] = Field(description="The time-series metric the rule watches.")
    reason: BadOutcome | None = Field(None, description="With error_ratio: count only this reason.")
    op: Literal["above", "below"] = Field(description="Fire when the metric is above / below the threshold.")
    threshold: float = Field(
        description="Value the metric is compared with (a share for ratios, seconds, requests per second)."
    )
    window_s: float = Field(60.0, gt=0, description="Evaluation window (trailing).")
    for_s: float = Field(60.0, ge=0, description="How long the condition must hold before firing (Prometheus 'for').")
    severity: Literal["page", "ticket"] = Field(
        "page", description="page: someone is woken up; ticket: looked at later."
    )

    @model_validator(mode="after")
    def _reason_only_for_errors(self) -> AlertSpec:
        if self.reason is not None and self.metric != "error_ratio":
            raise ValueError("reason is only allowed with metric error_ratio")
        if self.reason in INVISIBLE_REASONS:
            raise ValueError(f"{self.reason} is invisible to an HTTP monitor (a 200 with a normal latency): "
                             "use monitoring.quality_probe to catch it")
        return self


INVISIBLE_REASONS = ("wrong_answer",)
"""Outcomes an HTTP monitor counts as successes: only a quality probe sees them."""


class QualityProbeSpec(StrictModel):
    """A sampled evaluation of served answers (a grader or canary prompts): the only monitor of wrong answers.

    A share of the served answers is sampled; each sampled answer's verdict (right or wrong) is known
    ``detection_delay_s`` after it was served. At every evaluation the probe looks at the verdicts
    known within the trailing ``window_s`` and fires once the share of wrong ones has stayed above
    ``threshold`` for ``for_s``, with at least ``min_samples`` verdicts in the window. Defaults are
    illustrations, not measurements.
    """

    name: Name = Field("quality-probe", description="Name of the probe's alert.")
    sample_share: float = Field(0.01, gt=0, le=1, description="Sampling rate: share of served answers evaluated.")
    detection_delay_s: float = Field(300.0, ge=0, description="From an answer being served to its verdict.")
    threshold: float = Field(0.01, ge=0, lt=1, description="Share of evaluated answers that are wrong above which "
                                                           "the probe alerts.")
    window_s: float = Field(300.0, gt=0, description="Trailing window of verdicts judged at each evaluation.")
    for_s: float = Field(0.0, ge=0, description="How long the share must stay above the threshold before firing.")
    min_samples: int = Field(20, ge=1, description="Fewer verdicts in the window are not judged.")
    severity: Literal["page", "ticket"] = Field(
        "page", description="page: someone is woken up; ticket: looked at later."
    )


class MitigationSpec(StrictModel):
    """An operator action at a scheduled time (a mark on the incident timeline)."""

    name: Name = Field(description="Unique name of the action.")
    at_s: float = Field(ge=0, description="When the action is taken.")
    action: str = Field("", max_length=500, description="What is done, in words.")
    fault: Name | None = Field(None, description="The fault this action addresses (must exist).")


class MonitoringSpec(StrictModel):
    """Alert rules, an optional quality probe, and mitigations."""

    alerts: list[AlertSpec] = Field(default_factory=list, description="Alert rules; none: rules derived from the SLO.")
    quality_probe: QualityProbeSpec | None = Field(
        None, description="A sampled evaluation of served answers; without one, wrong answers go unseen."
    )
    mitigations: list[MitigationSpec] = Field(
        default_factory=list, description="Operator actions at scheduled times (marks on the incident timeline)."
    )
    derive_from_slo: bool = Field(True, description="With no alert rules, derive them from the SLO tolerances.")


def check_monitoring(monitoring: MonitoringSpec, fault_ids: set[str], duration_s: float) -> list[tuple[str, str]]:
    """Cross-field problems as (path, reason): unique alert names, known faults, times inside the run."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, alert in enumerate(monitoring.alerts):
        if alert.name in seen:
            problems.append((f"monitoring.alerts[{i}].name", f"alert name '{alert.name}' is used twice"))
        seen.add(alert.name)
    probe = monitoring.quality_probe
    if probe is not None and probe.name in seen:
        problems.append(("monitoring.quality_probe.name", f"'{probe.name}' is also an alert rule's name"))
    for i, mit in enumerate(monitoring.mitigations):
        if mit.at_s >= duration_s:
            problems.append((f"monitoring.mitigations[{i}].at_s", f"at {mit.at_s} s, after the run ends"))
        if mit.fault is not None and mit.fault not in fault_ids:
            problems.append((f"monitoring.mitigations[{i}].fault", f"no fault with id '{mit.fault}'"))
    return problems


def alert_rules(monitoring: MonitoringSpec, slo: SLOSpec) -> tuple[list[AlertSpec], bool]:
    """The scenario's alert rules, or rules derived from its SLO (and whether they were derived).

    Pure data, here in the spec, because two layers need the same rules: the operators, who are paged
    by them during the run, and the post-run analysis.
    """
    if monitoring.alerts or not monitoring.derive_from_slo:
        return list(monitoring.alerts), False
    w = slo.window_s
    rules = [AlertSpec(name="slo-availability", metric="success_ratio", op="below", threshold=slo.availability,
                       window_s=w, for_s=w)]
    if slo.p99_latency_s is not None:
        rules.append(AlertSpec(name="slo-latency", metric="latency_p99_s", op="above", threshold=slo.p99_latency_s,
                               window_s=w, for_s=w))
    if slo.p99_ttft_s is not None:
        rules.append(AlertSpec(name="slo-ttft", metric="ttft_p99_s", op="above", threshold=slo.p99_ttft_s,
                               window_s=w, for_s=w))
    for reason, limit in sorted(slo.max_error_rate.items()):
        if reason in INVISIBLE_REASONS:  # no HTTP monitor sees it: that is the quality probe's job
            continue
        rules.append(AlertSpec(name=f"slo-{reason}", metric="error_ratio", reason=reason, op="above",
                               threshold=limit, window_s=w, for_s=w))
    return rules, True
