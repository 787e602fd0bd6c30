"""Response section: the people in the model, who are paged by alerts and act through runbooks.

Mitigation is what people do, and its timing matters as much as the system's. An alert rule
(``monitoring.alerts``, or rules derived from the SLO, or the quality probe) is evaluated during
the run exactly as the post-run analysis evaluates it. An alert that *pages* (``routing.page``;
by default every rule with ``severity: page``) reaches the on-call ``page_s`` after it fires; the
on-call acknowledges ``ack_s`` later, and diagnoses each alert ``diagnose_s`` after the later of its
firing and the acknowledgement. A runbook action runs once: at a scheduled ``at_s``, or
``delay_s`` after the alert it names (``after_alert``) has been diagnosed; an alert that never fires
never triggers its action. Actions change components only through their port (effects, holds,
lifecycle verbs), and an action that ends a fault ends it through the fault's own end path.

Every duration of the on-call and every ``delay_s`` is a number of seconds or a distribution
(drawn once per run from the run's seeded streams). Defaults are illustrations, not measurements:
a few minutes to page and acknowledge, tens of minutes to diagnose, as the SRE book's
incident-response chapter describes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.spec.common import DistributionSpec, Name, StrictModel

Duration = Annotated[float, Field(ge=0)] | DistributionSpec
"""Seconds, or a distribution of seconds."""

CONTROL_PLANE_KINDS = ("redeploy", "rollback", "scale_pool")
"""Actions that go through the control plane (a deploy, a scale): they wait while it is not serving."""


class OnCallSpec(StrictModel):
    """The on-call responder: from an alert firing to its diagnosis."""

    page_s: Duration = Field(60.0, description="From a paging alert firing to the page reaching the on-call (s).")
    ack_s: Duration = Field(300.0, description="From the page to its acknowledgement (s).")
    diagnose_s: Duration = Field(
        900.0, description="From the acknowledgement (or a later alert's firing) to that alert diagnosed (s).")


class RoutingSpec(StrictModel):
    """Which alerts page the on-call."""

    page: list[Name] | None = Field(
        None, description="Alert names that page; null: every alert rule and probe with severity page.")


class ActionBase(StrictModel):
    """When a runbook action runs: at a time, or after a named alert has fired and been diagnosed."""

    name: Name = Field(description="Unique name of the action (shown on the incident timeline).")
    at_s: float | None = Field(None, ge=0, description="Run at this time (scheduled); or use after_alert.")
    after_alert: Name | None = Field(
        None, description="Run when this alert has fired and the on-call has diagnosed it.")
    delay_s: Duration = Field(0.0, description="After the diagnosis (or at_s), before the action runs (s).")
    needs_control_plane: bool | None = Field(
        None, description="Wait while the control plane is not serving; null: yes for redeploy, rollback and "
                          "scale_pool when the scenario has a control plane.")
    text: str = Field("", max_length=500, description="What is done, in words (shown on the status page).")

    @model_validator(mode="after")
    def _one_trigger(self) -> ActionBase:
        if (self.at_s is None) == (self.after_alert is None):
            raise ValueError("give exactly one of at_s or after_alert")
        return self


class LimitTrafficAction(ActionBase):
    """Admit at most a rate (or a share) of incoming requests at load balancers; the rest get 429."""

    kind: Literal["limit_traffic"]
    load_balancers: list[Name] | None = Field(None, description="Where the limit applies; null: every one.")
    rate_rps: float | None = Field(None, ge=0, description="Admitted requests per second per load balancer "
                                                           "(token bucket, one second of burst).")
    share: float | None = Field(None, ge=0, le=1, description="Share of requests admitted (a coin per request).")
    duration_s: float | None = Field(None, gt=0, description="How long the limit stays; null: to the end of the run.")

    @model_validator(mode="after")
    def _one_limit(self) -> LimitTrafficAction:
        if (self.rate_rps is None) == (self.share is None):
            raise ValueError("give exactly one of rate_rps or share")
        return self


class BlockAndRampAction(ActionBase):
    """Admit nothing for ``block_s``, then ramp the admitted share back to 1 in equal steps over ``ramp_s``."""

    kind: Literal["block_and_ramp"]
    load_balancers: list[Name] | None = Field(None, description="Where traffic is blocked; null: every one.")
    block_s: float = Field(300.0, ge=0, description="How long nothing is admitted.")
    ramp_s: float = Field(1800.0, ge=0, description="From the end of the block to full admission.")
    steps: int = Field(6, ge=1, le=100, description="Equal steps of the admitted share over ramp_s.")


class BatchMixin(StrictModel):
    """How a pool is restarted: batch after batch, each replica draining and restarting clean."""

    pool: Name = Field(description="The pool whose replicas restart.")
    batch_size: int | None = Field(None, ge=1, description="Replicas per batch; or batch_percent.")
    batch_percent: float | None = Field(None, gt=0, le=100, description="Share of the pool per batch (%).")
    drain_grace_s: float = Field(30.0, ge=0, description="A replica drains for at most this long before it stops.")
    restart_s: float = Field(10.0, ge=0, description="From stop to the new process starting (then its model load).")
    pause_s: float = Field(0.0, ge=0, description="After a batch is serving again, before the next batch.")
    batch_timeout_s: float = Field(900.0, gt=0, description="The next batch starts anyway after this long.")

    @model_validator(mode="after")
    def _one_batch(self) -> BatchMixin:
        if self.batch_size is not None and self.batch_percent is not None:
            raise ValueError("give at most one of batch_size or batch_percent")
        return self


class RedeployAction(ActionBase, BatchMixin):
    """Restart every replica of a pool clean, batch after batch (memory, caches and crash loops reset)."""

    kind: Literal["redeploy"]
    fault: Name | None = Field(None, description="A fault whose effect ends on each replica as it restarts clean.")


class RollbackAction(ActionBase, BatchMixin):
    """Roll back a bad build or config replica by replica; another kind of fault ends as a whole."""

    kind: Literal["rollback"]
    fault: Name = Field(description="The fault rolled back (bad_deploy, config_push; or any kind, ended whole).")
    pool: Name | None = Field(None, description="The pool restarted; null: the fault's targets.")  # type: ignore[assignment]


class DisableConfigAction(ActionBase):
    """Turn a pushed config off everywhere at once (no restart): the config_push fault's effect ends."""

    kind: Literal["disable_config"]
    fault: Name = Field(description="The config_push fault disabled.")


class EndFaultAction(ActionBase):
    """People remove a trigger (stop a job, block a bot): the named fault ends by its own end path."""

    kind: Literal["end_fault"]
    fault: Name = Field(description="The fault ended.")


class ScalePoolAction(ActionBase):
    """Add replicas to a pool by hand, through the autoscaler's path (provisioning, model load, readiness), or
    remove some (fewer nodes calling the control plane, cards 6 and 8)."""

    kind: Literal["scale_pool"]
    pool: Name = Field(description="The pool scaled.")
    add: int | None = Field(None, ge=1, description="Replicas added; or remove.")
    remove: int | None = Field(None, ge=1, description="Replicas removed (the newest first): each leaves the load "
                                                      "balancers, drains (up to 30 s) and stays down.")
    provisioning_delay_s: float = Field(
        120.0, ge=0, description="From the order to a provisioned node with its GPUs (then the model load); "
                                 "illustrative: set it to the pool's autoscaling delay to compare the two.")

    @model_validator(mode="after")
    def _add_or_remove(self) -> ScalePoolAction:
        if (self.add is None) == (self.remove is None):
            raise ValueError("give exactly one of add or remove")
        return self


class AddControlPlaneCapacityAction(ActionBase):
    """Add API servers to the control plane (its ``set_capacity``), after they are brought up."""

    kind: Literal["add_control_plane_capacity"]
    control_plane: Name | None = Field(None, description="Which control plane; null: discovery's, else the only one.")
    capacity_ops_s: float = Field(gt=0, description="Operations per second of capacity added.")
    provisioning_delay_s: float = Field(0.0, ge=0, description="From the order to the new API servers serving.")


class FailoverAction(ActionBase):
    """Send traffic away from a zone (a region), or promote a database's standby now."""

    kind: Literal["failover"]
    zone: Name | None = Field(None, description="The zone traffic leaves: its replicas out of every rotation, its "
                                                "load balancers held.")
    database: Name | None = Field(None, description="A database whose standby (its replica:) is promoted now, even "
                                                    "while the primary still answers; takes its promotion_s.")
    duration_s: float | None = Field(None, gt=0, description="Zone: fail back after this long; null: stay failed over.")

    @model_validator(mode="after")
    def _one_target(self) -> FailoverAction:
        if (self.zone is None) == (self.database is None):
            raise ValueError("give exactly one of zone or database")
        return self


class ReimageAction(ActionBase):
    """Re-image the nodes a fault holds (an os_update), one after another at ``per_hour`` nodes per hour."""

    kind: Literal["reimage"]
    fault: Name = Field(description="The fault whose nodes are re-imaged (an os_update with reimage_per_hour null).")
    per_hour: float = Field(gt=0, description="Nodes re-imaged per hour.")


class RerouteAction(ActionBase):
    """Let zone-aware load balancers send traffic to other zones when their own zone has no replica left
    (operators rerouting between regions), whatever their configured ``failover``."""

    kind: Literal["reroute"]
    load_balancers: list[Name] | None = Field(None, description="Which load balancers reroute (each must balance "
                                                                "zone_aware); null: every zone-aware one.")
    duration_s: float | None = Field(None, gt=0, description="How long rerouting lasts; null: to the end of the run.")


class ScaleCacheAction(ActionBase):
    """Scale a sharded cache (more Redis capacity): every shard serves ``factor`` times as many commands at
    once, after ``provisioning_delay_s``."""

    kind: Literal["scale_cache"]
    cache: Name = Field(description="The cache (with shard_concurrency) that is scaled.")
    factor: float = Field(gt=1, le=1000, description="Each shard's commands at once are multiplied by this.")
    provisioning_delay_s: float = Field(0.0, ge=0, description="From the order to the new capacity serving.")


ResponseAction = Annotated[
    LimitTrafficAction | BlockAndRampAction | RedeployAction | RollbackAction | DisableConfigAction
    | EndFaultAction | ScalePoolAction | AddControlPlaneCapacityAction | FailoverAction | ReimageAction
    | RerouteAction | ScaleCacheAction,
    Field(discriminator="kind"),
]


class ResponseSpec(StrictModel):
    """The on-call, which alerts page it, and the runbook actions people take."""

    oncall: OnCallSpec = Field(default_factory=OnCallSpec, description="Page, acknowledge and diagnose times.")
    routing: RoutingSpec = Field(default_factory=RoutingSpec, description="Which alerts page the on-call.")
    actions: list[ResponseAction] = Field(default_factory=list, description="Runbook actions, each run once.")


def check_response(response: ResponseSpec | None, alert_names: set[str], fault_kinds: dict[str, str],
                   pools: set[str], load_balancers: set[str], duration_s: float,
                   zones: set[str] | None = None, standby_databases: dict[str, bool] | None = None,
                   control_planes: set[str] | None = None,
                   zone_aware_lbs: set[str] | None = None,
                   sharded_caches: dict[str, bool] | None = None) -> list[tuple[str, str]]:
    """Cross-field problems as (path, reason): known alerts, faults, pools and load balancers, unique names."""
    if response is None:
        return []
    problems: list[tuple[str, str]] = []
    for j, name in enumerate(response.routing.page or []):
        if name not in alert_names:
            problems.append((f"response.routing.page[{j}]", f"no alert named '{name}'"))
    seen: set[str] = set()
    for i, act in enumerate(response.actions):
        where = f"response.actions[{i}]"
        if act.name in seen:
            problems.append((f"{where}.name", f"action name '{act.name}' is used twice"))
        seen.add(act.name)
        if act.at_s is not None and act.at_s >= duration_s:
            problems.append((f"{where}.at_s", f"at {act.at_s:g} s, after the run ends"))
        if act.after_alert is not None and act.after_alert not in alert_names:
            problems.append((f"{where}.after_alert", f"no alert named '{act.after_alert}' "
                                                     f"(alerts: {', '.join(sorted(alert_names)) or 'none'})"))
        fault = getattr(act, "fault", None)
        if fault is not None and fault not in fault_kinds:
            problems.append((f"{where}.fault", f"no fault with id '{fault}'"))
        elif act.kind == "disable_config" and fault_kinds[fault] != "config_push":
            problems.append((f"{where}.fault", f"'{fault}' is a {fault_kinds[fault]} fault, not a config_push"))
        pool = getattr(act, "pool", None)
        if pool is not None and pool not in pools:
            problems.append((f"{where}.pool", f"no pool named '{pool}'"))
        zone = getattr(act, "zone", None)
        if zone is not None and zones is not None and zone not in zones:
            problems.append((f"{where}.zone", f"unknown zone '{zone}' (zones: {', '.join(sorted(zones))})"))
        db = getattr(act, "database", None)
        if db is not None and standby_databases is not None:
            if db not in standby_databases:
                problems.append((f"{where}.database", f"no database named '{db}'"))
            elif not standby_databases[db]:
                problems.append((f"{where}.database", f"database '{db}' has no replica (standby) to promote"))
        cache = getattr(act, "cache", None)
        if cache is not None and sharded_caches is not None:
            if cache not in sharded_caches:
                problems.append((f"{where}.cache", f"no cache named '{cache}'"))
            elif not sharded_caches[cache]:
                problems.append((f"{where}.cache", f"cache '{cache}' has no shard_concurrency: its lookups never "
                                                   f"wait, so scaling it changes nothing"))
        cp = getattr(act, "control_plane", None)
        if cp is not None and control_planes is not None and cp not in control_planes:
            known = ", ".join(sorted(control_planes)) or "none"
            problems.append((f"{where}.control_plane", f"no control plane named '{cp}' (control planes: {known})"))
        for j, lb in enumerate(getattr(act, "load_balancers", None) or []):
            if lb not in load_balancers:
                problems.append((f"{where}.load_balancers[{j}]", f"no load balancer named '{lb}'"))
            elif act.kind == "reroute" and zone_aware_lbs is not None and lb not in zone_aware_lbs:
                problems.append((f"{where}.load_balancers[{j}]", f"'{lb}' does not balance zone_aware: it never "
                                                                 f"keeps traffic in its zone, so there is nothing to "
                                                                 f"reroute"))
        if act.kind == "reroute" and act.load_balancers is None and zone_aware_lbs is not None and not zone_aware_lbs:
            problems.append((f"{where}.kind", "no load balancer balances zone_aware: there is nothing to reroute"))
    return problems
