"""Finished attempts are released: what a client holds follows the attempts in flight, not the send rate
times the timeout (the timeout FIFO drops ended attempts lazily and compacts)."""

from __future__ import annotations

import gc

from sim.components.client import Client
from sim.components.network import Network
from sim.engine.request import Attempt
from sim.engine.world import World
from sim.spec.topology import NetworkSpec


class EchoBalancer:
    """Answers every attempt after a fixed service time, except those it keeps forever (never answered)."""

    name = "lb"
    zone = "a"

    def __init__(self, world: World, service_s: float, keep_every: int = 0):
        self.world = world
        self.service_s = service_s
        self.keep_every = keep_every
        self.seen = 0
        self.kept: list[Attempt] = []

    def handle(self, att: Attempt) -> None:
        self.seen += 1
        if self.keep_every and self.seen % self.keep_every == 0:
            self.kept.append(att)  # a hung server: only the client's timeout ends it
            return
        self.world.call_later(self.service_s, att.reply, att, "success")


def make_client(world: World, lb: EchoBalancer, timeout_s: float) -> Client:
    world.network = Network(NetworkSpec(), ["a"])
    return Client(world, "users", "a", [lb], 100, lambda: 10, lambda: 10, timeout_s, None, False)


def attempts_alive(client: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Attempt and o.request.client == client)


def test_after_a_burst_completes_held_attempts_are_bounded_by_those_in_flight():
    world = World(1, 100.0, 10.0, 0.0)
    lb = EchoBalancer(world, service_s=0.5, keep_every=100)
    client = make_client(world, lb, timeout_s=60.0)
    for i in range(10_000):  # a burst over 1 s; every 100th attempt hangs until its 60 s timeout
        world.call_later(i * 1e-4, client.arrive, 10, 10)
    world.env.run(until=5.0)
    in_flight = sum(1 for a in client._pending if not a.finished)
    assert in_flight == 100
    assert len(client._pending) <= 2 * in_flight + 32
    lb.kept.clear()  # the balancer's own references are not the client's
    assert attempts_alive("users") <= 2 * in_flight + 32
    assert len(client.live) == in_flight
    world.env.run(until=70.0)  # the hung ones time out: nothing is left
    assert not client.live and not any(not a.finished for a in client._pending)
    assert world.metrics.total_outcomes[0] == 9_900  # successes; the 100 hung ones timed out


def test_steady_traffic_holds_what_is_in_flight_not_rate_times_timeout():
    world = World(1, 400.0, 10.0, 0.0)
    lb = EchoBalancer(world, service_s=0.2)
    client = make_client(world, lb, timeout_s=300.0)
    rate_rps = 200.0

    def tick(k: int) -> None:
        client.arrive(10, 10)
        if k < 60_000:
            world.call_later(1 / rate_rps, tick, k + 1)

    world.call_later(0.0, tick, 0)
    peak = 0
    for t in range(10, 300, 10):
        world.env.run(until=float(t))
        peak = max(peak, len(client._pending))
    # about rate x service time (40) in flight; before, the FIFO held rate x elapsed time (up to 58,000)
    assert peak <= 2 * 60 + 32, peak


def test_an_idle_llm_replica_references_no_finished_attempt():
    """The batch's bookkeeping list drops finished entries as the batch shrinks, with no fixed slack: a
    slack of 32 per replica held tens of thousands of finished attempts in a 2048-replica fleet."""
    from sim.components.inference_server import LLMServer
    from sim.engine.request import Request
    from sim.spec.topology import LLMServerSpec

    world = World(1, 1000.0, 10.0, 0.0)
    server = LLMServer(world, "llm-0", "llm", "a", LLMServerSpec(mode="llm", max_batch_size=64))
    done: list[str] = []
    for i in range(30):  # a burst smaller than the old slack: all 30 were kept
        req = Request(i, "users", 0, 0.0, 200, 50 + i % 40)
        world.call_later(0.01 * i, server.submit, Attempt(req, 1, 0.01 * i, lambda att, o: done.append(o)))
    world.env.run(until=1000.0)
    assert len(done) == 30 and server.batch == 0
    assert len(server._order) <= 2
    held = {id(r.att) for r in server._order} | {id(entry[2].att) for entry in server._heap}
    assert len(held) <= 2
