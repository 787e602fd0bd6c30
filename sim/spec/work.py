"""How much work a run will be, estimated from the scenario before it starts.

Each field can be sensible alone and the product absurd: ``rate_rps: 1e6`` for a year, a 1 ns
health-check period on a hundred replicas, ``recurring.count: 100000`` on every server. The estimate
counts simulator events (a request is about ``EVENTS_PER_REQUEST`` of them, plus two per database
call) from arrivals x duration (surges and bots included), probes per second x replicas x
duration, controller syncs, outlier sweeps, alert evaluations per bucket, recurring windows and
stochastic failures (targets x window / (MTBF + MTTR)). Over the limit, validation fails with one
line naming the largest contributor, the estimate, and how to raise the limit (``--max-events``).

The estimate is an upper bound in spirit, not a prediction: retries and trace replays (whose rate
is in the trace file) are not counted. At about 100,000 events per second, the default limit is
a run of a quarter of an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.spec.bounds import fmt_number
from sim.spec.scenario import Problem, Scenario

DEFAULT_MAX_EVENTS = 100_000_000
"""About 15 minutes of simulation on one core; ``--max-events`` raises it."""

EVENTS_PER_REQUEST = 10
"""Arrival, hops, queueing, service start and end, reply, metrics: measured about 10 per request."""


@dataclass(frozen=True)
class Contribution:
    """Events one part of the scenario adds to the run, and the field that drives it."""

    path: str
    what: str
    events: float


def _max_replicas(scenario: Scenario) -> dict[str, int]:
    """Replicas each pool may have at once (the autoscaler's maximum when it is on)."""
    out = {}
    for pool in scenario.topology.pools:
        scaling = pool.autoscaling
        out[pool.name] = max(pool.replicas, scaling.max_replicas if scaling is not None and scaling.enabled else 0)
    return out


def _window(scenario: Scenario, fault) -> float:
    duration_s = scenario.run.duration_s
    end = duration_s if fault.duration_s is None else min(duration_s, fault.at_s + fault.duration_s)
    return max(0.0, end - fault.at_s)


def contributions(scenario: Scenario) -> list[Contribution]:
    """Every part of the run's expected work, with the field that drives it."""
    run = scenario.run
    duration_s = run.duration_s
    policies = scenario.policies
    replicas = _max_replicas(scenario)
    total_replicas = sum(replicas.values())
    components = total_replicas + len(scenario.topology.load_balancers) + len(scenario.topology.databases) + len(
        scenario.topology.caches) + len(scenario.workload.clients) + 2
    db_calls = max((p.db_calls_per_request for p in scenario.topology.pools), default=0)
    per_request = EVENTS_PER_REQUEST + 2 * db_calls
    surge = max([1.0] + [max([f.multiplier] + [p.multiplier for p in (f.profile or [])])
                         for f in scenario.faults if f.kind == "surge"])
    out: list[Contribution] = []
    for i, client in enumerate(scenario.workload.clients):
        arrival = client.arrival
        if arrival.kind == "trace":
            continue
        rate = max([arrival.rate_rps] + [step.rate_rps for step in arrival.schedule])
        path = f"workload.clients[{i}].arrival.rate_rps"
        if arrival.schedule and rate > arrival.rate_rps:
            j = max(range(len(arrival.schedule)), key=lambda k: arrival.schedule[k].rate_rps)
            path = f"workload.clients[{i}].arrival.schedule[{j}].rate_rps"
        surged = f" x {surge:g} (surge)" if surge > 1 else ""
        out.append(Contribution(path, f"{rate:.3g} requests/s{surged} x {duration_s:g} s",
                                rate * surge * duration_s * per_request))
    for i, lb in enumerate(scenario.topology.load_balancers):
        upstream = sum(replicas.get(name, 0) for name in lb.upstream)
        check = lb.health_check or policies.health_check
        if check.enabled:
            where = (f"topology.load_balancers[{i}].health_check.period_s" if lb.health_check is not None
                     else "policies.health_check.period_s")
            out.append(Contribution(where, f"{upstream} replicas probed every {check.period_s:g} s",
                                    2 * upstream * duration_s / check.period_s))
        outlier = lb.outlier_detection or policies.outlier_detection
        if outlier.enabled:
            where = (f"topology.load_balancers[{i}].outlier_detection.interval_s" if lb.outlier_detection is not None
                     else "policies.outlier_detection.interval_s")
            out.append(Contribution(where, f"an outlier sweep of {upstream} replicas every {outlier.interval_s:g} s",
                                    upstream * duration_s / outlier.interval_s))
    for i, pool in enumerate(scenario.topology.pools):
        live = pool.liveness or policies.liveness
        if live.enabled:
            where = (f"topology.pools[{i}].liveness.period_s" if pool.liveness is not None
                     else "policies.liveness.period_s")
            out.append(Contribution(where, f"{replicas[pool.name]} replicas probed every {live.period_s:g} s",
                                    2 * replicas[pool.name] * duration_s / live.period_s))
        if pool.autoscaling is not None and pool.autoscaling.enabled:
            out.append(Contribution(f"topology.pools[{i}].autoscaling.sync_period_s",
                                    f"an autoscaler sync every {pool.autoscaling.sync_period_s:g} s",
                                    duration_s / pool.autoscaling.sync_period_s))
        out.append(Contribution(f"topology.pools[{i}].replicas", f"{replicas[pool.name]} replicas",
                                100 * replicas[pool.name]))
    buckets = duration_s / run.bucket_s
    alerts = len(scenario.monitoring.alerts) + 5  # derived rules and the SLO windows
    out.append(Contribution("run.bucket_s", f"{buckets:.3g} buckets x {alerts} alert rules", buckets * alerts))
    for i, fault in enumerate(scenario.faults):
        window = _window(scenario, fault)
        if fault.kind == "bot_traffic":
            out.append(Contribution(f"faults[{i}].rate_rps", f"bots at {fault.rate_rps:.3g} requests/s x "
                                    f"{fault.max_attempts} attempts for {window:g} s",
                                    fault.rate_rps * fault.max_attempts * window * per_request))
        if fault.recurring is not None:
            out.append(Contribution(f"faults[{i}].recurring.count", f"{fault.recurring.count} windows on up to "
                                    f"{components} components", 2 * fault.recurring.count * components))
        if fault.stochastic is not None:
            s = fault.stochastic
            cycles = window / (s.mtbf_s + s.mttr_s) + 1
            out.append(Contribution(f"faults[{i}].stochastic.mtbf_s", f"{cycles:.3g} failures of up to {components} "
                                    "components", 2 * cycles * components))
    return out


def check_work(scenario: Scenario, max_events: int | None = DEFAULT_MAX_EVENTS) -> list[Problem]:
    """One problem if the run's estimated events exceed ``max_events`` (None: no limit)."""
    if max_events is None:
        return []
    parts = contributions(scenario)
    total = sum(p.events for p in parts)
    if total <= max_events:
        return []
    top = max(parts, key=lambda p: p.events)
    estimate = fmt_number(float(round(total)) if total < 1e15 else total)
    return [Problem(top.path, f"the run would need about {estimate} events (mostly {top.what}), more than the "
                              f"limit of {max_events:,}; if that is intended, raise it with --max-events "
                              f"{_suggest(total)}")]


def _suggest(total: float) -> str:
    """A round limit above ``total``, to copy onto the command line."""
    n = 10 ** len(str(int(min(total, 1e30))))
    for step in (n // 10, n // 5, n // 2, n):
        if step >= total:
            return str(int(step))
    return str(int(n))
