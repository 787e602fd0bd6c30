"""What one customer of a plain M/M/c queue costs, counted (not timed): events scheduled and Python calls.

The plain path (client → load balancer → replica → reply → metrics) is the validation mode and the
benchmark's ``mm8`` row: two events per customer, as any simulator needs, and about 11 Python function
calls (68 at 340f004, the start of issue 14; 48 before the World had its own loop; 18 before the request,
the attempt and the timers of the plain path were built inline and an unimpaired hop read inline). A change
that adds calls per customer on this path fails here and should say why it is worth it.
"""

from __future__ import annotations

import sys

import simpy

from sim.engine.request import Attempt, Request
from sim.engine.world import Clock
from sim.spec import parse_scenario_text

from .test_clock_loop import MM4, _run

PYTHON_CALLS_PER_CUSTOMER = 13
"""Counted 11.0 (18.0 when this test was written); the margin allows a call or two more per customer, not a new
stage."""


def test_a_plain_customer_costs_two_events_and_few_python_calls(monkeypatch):
    calls = 0
    plain_run = Clock.run

    def counting(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    def run(self, until=None):
        sys.setprofile(counting)
        try:
            return plain_run(self, until)
        finally:
            sys.setprofile(None)

    monkeypatch.setattr(Clock, "run", run)
    result, scheduled = _run(parse_scenario_text(MM4), Clock())
    arrivals = result.summary["accounting"]["arrivals"]
    assert arrivals > 6000
    assert scheduled <= 2 * arrivals + 10
    assert calls / arrivals <= PYTHON_CALLS_PER_CUSTOMER, calls / arrivals



def test_the_inline_request_and_attempt_are_what_their_constructors_build(monkeypatch):
    """The client builds a request and an attempt without ``__init__`` (every customer): every field the
    constructors set, it sets to the same value (seen as they reach the load balancer), so a field added to one
    place and not the other fails here."""
    from sim.components.load_balancer import LoadBalancer

    seen: list[tuple[dict, dict, Attempt]] = []
    plain_handle = LoadBalancer.handle

    def handle(self, att):
        if not seen:  # every slot read: one left unset raises AttributeError
            seen.append(({n: getattr(att.request, n) for n in Request.__slots__},
                         {n: getattr(att, n) for n in Attempt.__slots__}, att))
        plain_handle(self, att)

    monkeypatch.setattr(LoadBalancer, "handle", handle)
    scenario = parse_scenario_text(MM4)
    _run(scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": 5.0})}),
         simpy.Environment())
    req_fields, att_fields, att = seen[0]
    req = att.request
    built = Request(req.id, req.client, req.user, req.t_arrival_s, req.prompt_tokens, req.output_tokens,
                    req.priority, req.trace_failed)
    built.attempts = 1  # as ``_send`` counts it before building the attempt
    assert req_fields == {n: getattr(built, n) for n in Request.__slots__}
    fresh = Attempt(req, 1, att.t_start_s, att.reply)
    assert att_fields == {n: getattr(fresh, n) for n in Attempt.__slots__}
