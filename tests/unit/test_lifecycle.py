"""The replica lifecycle: its transition table, holds, restarts, drains, and timers a crash cancels."""

from __future__ import annotations

import numpy as np
import pytest

from sim.components.lifecycle import SERVER_MOVES, IllegalTransition
from sim.components.plain_server import PlainServer
from sim.engine.distributions import Deterministic, Sampler
from sim.engine.timeline import STATES, Cause
from sim.engine.world import World

WHY = Cause("mechanism", "test", "test", "test")


def plain(world: World, model_load_s: float = 5.0, service_s: float = 1.0) -> PlainServer:
    world.network = type("Net", (), {"cut": staticmethod(lambda a, b: False)})()
    return PlainServer(world, "p-0", "p", "a", 10, model_load_s, 1,
                       Sampler(Deterministic(service_s), np.random.default_rng(1)))


def test_the_table_names_every_state_and_only_known_states():
    assert set(SERVER_MOVES) <= set(STATES)
    assert all(targets <= set(STATES) for targets in SERVER_MOVES.values())


def test_an_illegal_transition_raises_and_changes_nothing():
    world = World(1, 100.0, 1.0, 0.0)
    server = plain(world)
    server.crash(WHY, None)
    with pytest.raises(IllegalTransition, match="down -> healthy"):
        server.life.move("healthy", WHY)  # a down replica must start (cold start) before it serves
    assert server.state == "down" and world.timeline.current["p-0"] == "down"
    with pytest.raises(IllegalTransition):
        server.life.move("overloaded", WHY)


def test_a_replica_comes_back_only_when_the_last_hold_lets_go():
    world = World(1, 100.0, 1.0, 0.0)
    server = plain(world, model_load_s=0.0)
    server.hold("a", WHY)
    server.hold("b", None)
    assert not server.release("a", WHY) and server.state == "down"
    assert server.release("b", WHY) and server.state == "starting"
    assert not server.release("b", WHY), "a key released twice lets go only once"


def test_a_released_hold_does_not_bring_a_pending_restart_forward():
    world = World(1, 100.0, 1.0, 0.0)
    server = plain(world, model_load_s=0.0)
    server.crash(WHY, 10.0)
    server.hold("zone", None)
    world.env.run(until=2.0)
    server.release("zone", WHY)
    assert server.state == "down" and server.restart_at_s == 10.0
    world.env.run(until=11.0)
    assert server.state == "healthy"


def test_a_crash_cancels_the_timers_of_the_incarnation():
    world = World(1, 100.0, 1.0, 0.0)
    server = plain(world, model_load_s=5.0)
    server.crash(WHY, 1.0)  # restart at 1 s, model loaded at 6 s
    world.env.run(until=2.0)
    assert server.state == "starting" and len(server.life.timers) == 1
    server.crash(WHY, None)  # the model load in flight belongs to the crashed incarnation
    assert len(server.life.timers) == 0
    world.env.run(until=20.0)
    assert server.state == "down", "no stale 'model loaded' brings a crashed replica up"


def test_a_timer_can_be_cancelled_and_a_group_cancels_its_members():
    world = World(1, 100.0, 1.0, 0.0)
    ran: list[str] = []
    kept = world.call_later(1.0, ran.append, "kept")
    dropped = world.call_later(1.0, ran.append, "dropped")
    dropped.cancel()
    group = world.timers()
    group.call_later(2.0, ran.append, "group-1")
    group.call_later(3.0, ran.append, "group-2")
    world.env.run(until=2.5)
    assert len(group) == 1
    group.cancel_all()
    world.env.run(until=10.0)
    assert ran == ["kept", "group-1"] and not kept.pending and not dropped.pending


def test_one_drain_waits_for_work_and_ends_at_the_grace_period():
    from sim.engine.request import Attempt, Request

    world = World(1, 100.0, 1.0, 0.0)
    server = plain(world, model_load_s=0.0, service_s=10.0)
    replies: list[str] = []
    att = Attempt(Request(1, "c", 0, 0.0, 1, 1), 1, 0.0, lambda a, outcome: replies.append(outcome))
    server.submit(att)
    ends: list[tuple[float, bool]] = []
    server.drain(WHY, lambda killed: ends.append((world.now, killed)), grace_s=3.0)
    assert server.state == "draining" and not server.probe_ok()
    world.env.run(until=20.0)
    assert ends == [(3.0, True)], "still busy at the grace period: the owner decides (killed)"
    ends.clear()
    server.drain(WHY, lambda killed: ends.append((world.now, killed)))
    world.env.run(until=30.0)
    assert ends == [(21.0, False)] and replies == ["success"], "idle: drained at the first check"
