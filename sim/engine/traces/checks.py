"""Warnings about a valid trace that the scenario cannot serve as intended (printed by `validate`)."""

from __future__ import annotations

import numpy as np

from sim.engine.traces.arrival import trace_of
from sim.engine.traces.model import TraceError
from sim.spec.scenario import model_served


def trace_warnings(scenario) -> list[str]:
    """One line per problem: prompts that can never fit a pool's KV cache, rows dropped or flagged.

    A prompt longer than every KV cache it can reach is rejected on every attempt and retried
    uselessly, silently capping availability: worth saying before the run.
    """
    pools = {p.name: p for p in scenario.topology.pools}
    balancers = {lb.name: lb for lb in scenario.topology.load_balancers}
    lines: list[str] = []
    for i, client in enumerate(scenario.workload.clients):
        arrival = client.arrival
        if arrival.kind != "trace":
            continue
        where = f"workload.clients[{i}].arrival"
        try:
            trace = trace_of(arrival)
        except TraceError:
            continue  # reported as an error by the trace check
        lines.extend(f"{where}: {note}" for note in trace.notes)
        if trace.model_codes is not None:
            counts = np.bincount(trace.model_codes, minlength=len(trace.model_names))
            for model, n in zip(trace.model_names, counts.tolist(), strict=True):
                if n and not model_served(scenario, client.target, model):
                    lines.append(f"{where}: {n} requests ask for model '{model}', which no pool behind "
                                 f"{', '.join(client.target)} serves (they fail: no_healthy_upstream)")
        if not arrival.use_trace_tokens:
            continue
        reached = [pools[p] for t in client.target if t in balancers for p in balancers[t].upstream if p in pools]
        for pool in dict((p.name, p) for p in reached).values():
            server = pool.server
            if getattr(server, "mode", None) != "llm":
                continue
            never = int(np.count_nonzero(trace.prompt_tokens + 1 > server.kv_cache_tokens))
            if never:
                lines.append(
                    f"{where}: {never} of {len(trace)} requests have prompts longer than pool {pool.name}'s KV cache "
                    f"({server.kv_cache_tokens:,} tokens): rejected on every attempt (raise "
                    f"topology.pools.{pool.name}.server.kv_cache_tokens or filter the trace)"
                )
    return lines
