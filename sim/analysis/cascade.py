"""The causal cascade of a run, built from the recorded causes (never guessed from timing).

Nodes are fault roots (``fault:<id>``; planned maintenance is a root too, ``planned:...``, being a
trigger people scheduled) and component state transitions (their integer ids); an
edge points from a cause to its effect: from a fault to each transition it made directly, and from
every parent transition named in a cause to the transition it pushed. A transition belongs to the
cascade when it descends from a fault. Its *generation* counts component hops: the fault's direct
victims are generation 1; a transition pushed by another component's transition is one more; a
component's own follow-up (down → starting) keeps its generation.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

NOT_SERVING = frozenset(("down", "starting"))


def _t(t_s: float) -> float:
    """Times at the 9 significant digits a run directory keeps, so a loaded run analyses identically."""
    return float(f"{float(t_s):.9g}")


def fault_node(fault_id: str) -> str:
    return f"fault:{fault_id}"


def demand_node(client: str) -> str:
    """The root standing for a client's own demand (named when nothing else explains a load)."""
    return f"demand:{client}"


def _load_parents(g: nx.DiGraph, t: Any, starts: dict[str, float], targets: dict[str, list[str]]) -> list[Any]:
    """The graph nodes standing for the load sources a transition's cause names, added as needed: the fault
    root (a surge, bots), a demand root, or one retries node per transition (linked from the transitions
    whose failures the client retried that are in the cascade; one per transition keeps the graph acyclic)."""
    out: list[Any] = []
    for load in t.cause.loads:
        if load.kind == "fault":
            node = fault_node(load.source)
            if node not in g:
                g.add_node(node, kind="fault", fault=load.source, mechanism="", t_s=starts.get(load.source, _t(t.t_s)),
                           targets=targets.get(load.source, []), generation=0)
            out.append(node)
        elif load.kind == "demand":
            node = demand_node(load.source)
            if node not in g:
                g.add_node(node, kind="demand", fault=node, mechanism="demand", client=load.source, t_s=_t(t.t_s),
                           targets=[load.source], generation=0)
            out.append(node)
        elif load.kind == "retries":
            origin = [p for p in load.parents if p in g]
            if not origin:
                continue
            node = f"retries:{load.source}@{t.id}"
            # the generation of what set the retries off (the episode's first failure): the failures they
            # retry later feed the storm (edges) without making every later push one generation deeper
            g.add_node(node, kind="load", mechanism="retries", component=load.source, t_s=_t(t.t_s),
                       detail=load.detail, generation=g.nodes[origin[0]]["generation"])
            for p in origin:
                g.add_edge(p, node)
            out.append(node)
    return out


PLANNED_MECHANISMS = ("maintenance",)
"""Controllers whose own moves are triggers people scheduled (planned maintenance): a transition they
cause with no recorded parent hangs from a root ``planned:<mechanism>:<source>``, as a fault's does."""


def planned_node(mechanism: str, source: str) -> str:
    """The root standing for planned work (maintenance of a pool) that people scheduled."""
    return f"planned:{mechanism}:{source}"


def cascade_graph(transitions: list[Any], fault_log: list[dict[str, Any]] | None = None) -> nx.DiGraph:
    """The cascade as a DiGraph: roots (faults; a client's demand when it alone explains a load), the
    transitions that descend from them, the retry loads between, cause → effect edges."""
    g = nx.DiGraph()
    starts: dict[str, float] = {}
    targets: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for entry in fault_log or []:
        if entry["event"] == "start" and entry["fault"] not in starts:
            starts[entry["fault"]] = _t(entry["t_s"])
            targets[entry["fault"]] = list(entry.get("targets", []))
            kinds[entry["fault"]] = entry.get("kind", "")
    for fid, t0 in starts.items():  # every fault that started is a root, even one that changed no state
        g.add_node(fault_node(fid), kind="fault", fault=fid, mechanism=kinds.get(fid, ""), t_s=t0,
                   targets=targets.get(fid, []), generation=0)
    for t in transitions:
        cause = t.cause
        parents = [p for p in cause.parents if p in g]
        loads = _load_parents(g, t, starts, targets) if cause.loads else []
        planned = cause.kind == "mechanism" and cause.mechanism in PLANNED_MECHANISMS and not parents
        if cause.kind != "fault" and not parents and not loads and not planned:
            continue
        gen = 0
        if planned:
            root = planned_node(cause.mechanism, cause.source)
            if root not in g:
                g.add_node(root, kind="fault", fault=f"{cause.mechanism} of {cause.source}",
                           mechanism=cause.mechanism, t_s=_t(t.t_s), targets=[], generation=0)
            g.add_edge(root, t.id)
            gen = 1
        elif cause.kind == "fault":
            root = fault_node(cause.source)
            if root not in g:
                g.add_node(root, kind="fault", fault=cause.source, mechanism=cause.mechanism,
                           t_s=starts.get(cause.source, _t(t.t_s)), targets=targets.get(cause.source, []), generation=0)
            g.add_edge(root, t.id)
            gen = 1
        for p in parents:
            pn = g.nodes[p]
            gen = max(gen, pn["generation"] + (0 if pn["component"] == t.component else 1))
        for node in loads:  # a load comes from outside the component: one hop more than its source
            gen = max(gen, g.nodes[node]["generation"] + 1)
        g.add_node(t.id, kind="transition", t_s=_t(t.t_s), component=t.component, state=t.state,
                   previous=t.previous, mechanism=cause.mechanism, source=cause.source, detail=cause.detail,
                   cause=cause.text(), generation=gen, impairing=t.state != "healthy")
        for p in parents + loads:
            g.add_edge(p, t.id)
    return g


def slo_breaches(data: Any) -> dict[str, str]:
    """Replicas that served worse than their own share of the SLO after the first fault: over the requests
    whose last attempt ended there (at least ``slo.min_requests``), a success share below the availability
    target, or a p99 latency or TTFT above its bound. Component → why, in words."""
    slo = data.scenario.slo
    rows = ((data.summary.get("measured") or {}).get("since_first_fault") or {}).get("by_server") or {}
    out: dict[str, str] = {}
    for name, r in rows.items():
        ended = r.get("ended") or 0
        if ended < slo.min_requests:
            continue
        why = []
        ok_share = 1 - (r.get("not_success") or 0) / ended
        if ok_share < slo.availability:
            why.append(f"availability {100 * ok_share:.1f} % < {100 * slo.availability:g} %")
        for key, bound, words in (("p99_latency_s", slo.p99_latency_s, "p99 latency"),
                                  ("p99_ttft_s", slo.p99_ttft_s, "p99 TTFT")):
            value = r.get(key)
            if bound is not None and value is not None and value > bound:
                why.append(f"{words} {value:.3g} s > {bound:g} s")
        if why:
            out[name] = "; ".join(why) + f" over its {ended} requests since the first fault"
    return out


def _breach_text(breached: dict[str, str], changed: list[str]) -> str:
    """'; 6 more breached their share of the SLO without a state change (gpu-0, ...)' ('' for none)."""
    more = sorted(set(breached) - set(changed))
    if not more:
        return ""
    shown = ", ".join(more[:6]) + (f" and {len(more) - 6} more" if len(more) > 6 else "")
    return f"; {len(more)} more breached their own share of the SLO without a state change ({shown})"


def _capacity_weights(scenario: Any) -> dict[str, float]:
    """Serving capacity per replica: concurrency slots (plain) or batch slots (LLM)."""
    from sim.spec.inventory import inventory

    pools = {p.name: p for p in scenario.topology.pools}
    out = {}
    for info in inventory(scenario):
        if info.kind == "server":
            spec = pools[info.pool].server
            out[info.name] = float(getattr(spec, "concurrency", None) or getattr(spec, "max_batch_size", 1))
    return out


def _impaired_intervals(transitions: list[Any], in_cascade: set[int],
                        end_s: float) -> tuple[dict[str, list[list[float]]], set[str]]:
    """Per component, intervals from a cascade transition into a non-healthy state to its next healthy state;
    and the components still impaired at the end of the run."""
    out: dict[str, list[list[float]]] = {}
    open_: dict[str, float] = {}
    for t in transitions:
        if t.state == "healthy":
            if t.component in open_:
                out.setdefault(t.component, []).append([open_.pop(t.component), _t(t.t_s)])
        elif t.id in in_cascade and t.component not in open_:
            open_[t.component] = _t(t.t_s)
    for comp, t0 in open_.items():
        out.setdefault(comp, []).append([t0, end_s])
    return out, set(open_)


def analyze_cascade(data: Any) -> dict[str, Any]:
    """Roots, depth, blast radius (components, capacity, requests, users), spread and containment."""
    g = cascade_graph(data.transitions, data.fault_log)
    topo = data.graph
    end_run = float(data.scenario.run.duration_s)
    trans = [n for n, d in g.nodes(data=True) if d["kind"] == "transition"]
    roots = sorted((n for n, d in g.nodes(data=True) if d["kind"] in ("fault", "demand")),
                   key=lambda n: (g.nodes[n]["kind"] != "fault", g.nodes[n]["t_s"], n))
    impact = _impact(data.summary)
    root_rows = [{"fault": g.nodes[r]["fault"], "kind": g.nodes[r]["mechanism"], "t_s": g.nodes[r]["t_s"],
                  "targets": g.nodes[r]["targets"]} for r in roots]
    if not trans:
        summary = ("no cascade: no fault in this run" if not roots else
                   f"no cascade: {', '.join(r['fault'] for r in root_rows)} changed no component's recorded state")
        breached = slo_breaches(data) if roots else {}
        summary += _breach_text(breached, [])
        return {"empty": True, "roots": root_rows, "depth": 0, "transitions": 0, "components": sorted(breached),
                "changed_state": [], "direct_victims": [], "graph": g,
                "slo_breaches": [{"component": c, "why": why} for c, why in sorted(breached.items())],
                "blast_radius": {"components": len(breached), "changed_state": 0, "breached_slo": len(breached),
                                 "share_of_components": 0.0, "capacity_share": 0.0,
                                 "peak_capacity_share": 0.0, "peak_impaired_components": 0, **impact},
                "first_fault_s": root_rows[0]["t_s"] if root_rows else None, "widest_spread_s": None,
                "time_to_widest_s": None, "peak_impaired_s": None, "end_s": None, "still_impaired": [],
                "containment": None, "table": [], "summary": summary}

    def meta(comp: str) -> dict[str, str]:
        d = topo.nodes[comp] if comp in topo else {}
        return {"kind": d.get("kind", "unknown"), "zone": d.get("zone", "") or "", "pool": d.get("pool", "") or ""}

    direct = sorted({g.nodes[n]["component"] for r in roots for n in g.successors(r)})
    # affected: pushed into a worse state, or changed directly by a fault (even when its state label stays)
    changed = sorted({g.nodes[n]["component"] for n in trans if g.nodes[n]["impairing"]} | set(direct))
    # ... or served worse than its own share of the SLO after the first fault (a survivor slowed by the
    # load it took over, with no state change of its own)
    breached = slo_breaches(data)
    affected = sorted(set(changed) | set(breached))
    weights = _capacity_weights(data.scenario)
    total_cap = sum(weights.values()) or 1.0
    cap_affected = sum(weights.get(c, 0.0) for c in changed) / total_cap

    in_cascade = set(trans)
    intervals, still = _impaired_intervals(data.transitions, in_cascade, end_run)
    events = sorted([(t0, 1, c) for c, iv in intervals.items() for t0, _ in iv]
                    + [(t1, -1, c) for c, iv in intervals.items() for _, t1 in iv], key=lambda e: (e[0], e[1]))
    count = peak = 0
    cap = peak_cap = 0.0
    peak_t = None
    for t_s, step, comp in events:
        count += step
        cap += step * weights.get(comp, 0.0)
        if count > peak:
            peak, peak_t = count, t_s
        peak_cap = max(peak_cap, cap)
    # widest spread: when the last component to be reached joined the cascade
    joined: dict[str, float] = {}
    for n in trans:
        d = g.nodes[n]
        if d["component"] in affected:
            joined[d["component"]] = min(joined.get(d["component"], d["t_s"]), d["t_s"])
    widest_t = max(joined.values())
    end_s = None if still else max((iv[-1][1] for iv in intervals.values() if iv), default=None)
    pushing = [r for r in roots if any(True for _ in g.successors(r))]
    first_fault = min(g.nodes[r]["t_s"] for r in [r for r in pushing if g.nodes[r]["kind"] == "fault"] or pushing)

    root_meta = [meta(c) for c in direct]
    aff_meta = {c: meta(c) for c in affected}
    pools0 = {m["pool"] for m in root_meta if m["pool"]}
    zones0 = {m["zone"] for m in root_meta}
    tiers0 = {m["kind"] for m in root_meta}
    left_pool = sorted(c for c, m in aff_meta.items() if m["pool"] not in pools0)
    left_zone = sorted(c for c, m in aff_meta.items() if m["zone"] not in zones0)
    left_tier = sorted(c for c, m in aff_meta.items() if m["kind"] not in tiers0)
    containment = {
        "started_in": {"pools": sorted(pools0), "zones": sorted(zones0), "tiers": sorted(tiers0)},
        "pool": not left_pool, "zone": not left_zone, "tier": not left_tier,
        "left_pool": left_pool, "left_zone": left_zone, "left_tier": left_tier,
    }
    depth = max(g.nodes[n]["generation"] for n in trans)
    table = []
    for n in sorted(trans, key=lambda n: (g.nodes[n]["t_s"], n)):
        d = g.nodes[n]
        by = [_pushed_by(g, p) for p in g.predecessors(n)]
        table.append({"id": n, "t_s": d["t_s"], "after_first_fault_s": d["t_s"] - first_fault,
                      "component": d["component"], "kind": meta(d["component"])["kind"],
                      "zone": meta(d["component"])["zone"], "previous": d["previous"], "state": d["state"],
                      "generation": d["generation"], "mechanism": d["mechanism"], "cause": d["cause"],
                      "pushed_by": by})
    n_components = sum(1 for _, d in topo.nodes(data=True) if d.get("kind") != "client") or 1
    return {
        "empty": False,
        "roots": root_rows,
        "depth": depth,
        "transitions": len(trans),
        "components": affected,
        "changed_state": changed,
        "slo_breaches": [{"component": c, "why": why} for c, why in sorted(breached.items())],
        "direct_victims": direct,
        "graph": g,
        "blast_radius": {
            "components": len(affected),
            "changed_state": len(changed),
            "breached_slo": len(breached),
            "share_of_components": len(affected) / n_components,
            "capacity_share": cap_affected,
            "peak_capacity_share": peak_cap / total_cap,
            "peak_impaired_components": peak,
            **impact,
        },
        "first_fault_s": first_fault,
        "widest_spread_s": widest_t,
        "time_to_widest_s": widest_t - first_fault,
        "peak_impaired_s": peak_t,
        "end_s": end_s,
        "still_impaired": sorted(still),
        "containment": containment,
        "table": table,
        "summary": _summary(roots, g, affected, depth, containment, widest_t, first_fault)
                   + _breach_text(breached, changed),
    }


def _impact(summary: dict[str, Any]) -> dict[str, Any]:
    """Share of requests that did not succeed, and share of active users who saw one: over the measured
    window, and counting only what ended after the first fault started (failures before it are not
    the fault's doing)."""
    m = summary.get("measured", {})
    ended = m.get("ended") or 0
    success = (m.get("outcomes") or {}).get("success", 0)
    users = m.get("users") or {}
    active = users.get("active") or 0
    since = m.get("since_first_fault") or {}
    s_ended = since.get("ended") or 0
    s_active = users.get("active_since_first_fault") or 0
    return {
        "requests_affected": ended - success,
        "requests_share": (ended - success) / ended if ended else None,
        "users_affected": users.get("affected"),
        "users_active": active or None,
        "users_share": users.get("affected", 0) / active if active else None,
        "since_first_fault_s": since.get("from_s"),
        "requests_share_since_first_fault": since.get("not_success", 0) / s_ended if s_ended else None,
        "users_share_since_first_fault":
            users.get("affected_since_first_fault", 0) / s_active if s_active else None,
    }


def _summary(roots, g, affected, depth, containment, widest_t, first_fault) -> str:
    names = ", ".join(g.nodes[r]["fault"] for r in roots if any(True for _ in g.successors(r)))
    where = []
    for level in ("pool", "zone", "tier"):
        if containment[level]:
            where.append(f"stayed in its {level}")
        else:
            where.append(f"left its {level} ({', '.join(containment['left_' + level])})")
    spread = f"; reached its last component {widest_t - first_fault:.3g} s after the first fault"
    return (f"{names} reached {len(affected)} component(s) in {depth} generation(s){spread}; "
            + "; ".join(where))


def _pushed_by(g: nx.DiGraph, p: Any) -> str:
    """A parent node in words, its source first: 'crash-1', 'demand:users', 'api-0 down', 'users retries: ...'."""
    d = g.nodes[p]
    if d["kind"] in ("fault", "demand"):
        return d["fault"]
    if d["kind"] == "load":
        return f"{d['component']} {d['mechanism']}: {d['detail']}"
    return f"{d['component']} {d['state']}"


def graph_to_json(g: nx.DiGraph) -> dict[str, Any]:
    """Nodes and edges as plain data (node ids as strings)."""
    return {"nodes": [{"id": str(n), **{k: v for k, v in d.items()}} for n, d in g.nodes(data=True)],
            "edges": [[str(a), str(b)] for a, b in g.edges]}
