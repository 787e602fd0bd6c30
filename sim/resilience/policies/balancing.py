"""Load-balancing policies (Envoy's names): pick one replica out of those in rotation.

Every factory takes ``(rng, choice_count=2, spec=None, zone=None)``: its random stream, Envoy's
choice_count, the full BalancingSpec and the load balancer's zone. ``pick`` may return None when the
policy refuses every candidate (zone_aware without failover, a shuffle shard with no member left):
the load balancer then answers no_healthy_upstream.
"""

from __future__ import annotations

import functools
import zlib
from bisect import bisect_left, insort
from typing import Any

from sim.components.policies import Balancer
from sim.engine.distributions import UniformSampler
from sim.resilience.registry import Registry

BALANCERS: Registry[Balancer] = Registry("balancing policy")


@BALANCERS.register("round_robin")
class RoundRobin:
    """Each replica in turn (Envoy's default)."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self._i = 0

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        self._i += 1
        return candidates[self._i % len(candidates)]


@BALANCERS.register("random")
class RandomChoice:
    """A uniformly random replica."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self._u = UniformSampler(rng)

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        return candidates[int(self._u() * len(candidates))]


@BALANCERS.register("least_outstanding")
class LeastOutstanding:
    """The replica with the fewest outstanding requests; ties go round robin (as HAProxy leastconn and
    NGINX least_conn), otherwise the first replica would take all the traffic of a lightly loaded pool.

    Exactly: the first least-loaded candidate at or after a cursor that advances by one per pick. Found in
    O(log n) through a ``_LoadIndex`` of the candidate list, which replicas keep current by telling the
    policy when their count changes (``load_watchers``); candidates that cannot tell (test doubles) are
    scanned instead.
    """

    MAX_INDEXES = 4
    """Candidate lists indexed at once (the rotation, per model served; a rotation change makes a new list)."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self._i = 0
        self._indexes: dict[int, _LoadIndex] = {}

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        self._i += 1
        n = len(candidates)
        i = self._i % n
        index = self._indexes.get(id(candidates))
        if index is None or index.source is not candidates or index.n != n:
            index = self._index_for(candidates)
            if index is None:
                return min(candidates[i:] + candidates[:i], key=_outstanding)
        return candidates[index.first_least(i)]

    def _index_for(self, candidates: list[Any]) -> _LoadIndex | None:
        """A new index of this candidate list (the load balancer makes a new list at each rotation change, so
        the oldest indexes are dropped rather than kept current)."""
        if not all(hasattr(s, "load_watchers") for s in candidates):
            return None
        for s in candidates:
            if self._moved not in s.load_watchers:
                s.load_watchers.append(self._moved)
        if len(self._indexes) >= self.MAX_INDEXES:
            self._indexes.clear()
        index = self._indexes[id(candidates)] = _LoadIndex(candidates)
        return index

    def _moved(self, server: Any) -> None:
        for index in self._indexes.values():
            index.moved(server)


class _LoadIndex:
    """One candidate list's positions bucketed by outstanding count (each bucket a sorted list), and the
    lowest non-empty count. A count change moves one position between buckets (a binary search in each);
    the first least-loaded position at or after a cursor is one binary search in the lowest bucket."""

    __slots__ = ("source", "n", "pos", "count", "buckets", "low")

    def __init__(self, candidates: list[Any]):
        self.source = candidates
        self.n = len(candidates)
        self.pos = {id(s): i for i, s in enumerate(candidates)}
        self.count = [s.outstanding for s in candidates]
        self.buckets: dict[int, list[int]] = {}
        for i, c in enumerate(self.count):
            self.buckets.setdefault(c, []).append(i)
        self.low = min(self.buckets)

    def moved(self, server: Any) -> None:
        """``server``'s outstanding count changed: move its position to the bucket of its new count."""
        i = self.pos.get(id(server))
        if i is None:
            return
        old, new = self.count[i], server.outstanding
        if old == new:
            return
        self.count[i] = new
        bucket = self.buckets[old]
        del bucket[bisect_left(bucket, i)]
        dest = self.buckets.get(new)
        if dest is None:
            self.buckets[new] = [i]
        else:
            insort(dest, i)
        if not bucket:
            del self.buckets[old]
        if new < self.low:
            self.low = new
        elif not bucket and old == self.low:
            self.low = new if new == old + 1 else min(self.buckets)

    def first_least(self, cursor: int) -> int:
        """Position of the first least-loaded candidate at or after ``cursor``, wrapping around."""
        bucket = self.buckets[self.low]
        j = bisect_left(bucket, cursor)
        return bucket[j] if j < len(bucket) else bucket[0]


@BALANCERS.register("power_of_two")
class PowerOfChoices:
    """Sample ``choice_count`` replicas at random and take the least loaded (Envoy least_request)."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self._u = UniformSampler(rng)
        self.choice_count = choice_count

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        n = len(candidates)
        u = self._u
        best = candidates[int(u() * n)]
        if self.choice_count == 2:  # the default, without the loop
            other = candidates[int(u() * n)]
            return other if other.outstanding < best.outstanding else best
        for _ in range(self.choice_count - 1):
            other = candidates[int(self._u() * n)]
            if other.outstanding < best.outstanding:
                best = other
        return best


def _outstanding(server: Any) -> int:
    return server.outstanding


@BALANCERS.register("zone_aware")
class ZoneAware:
    """Envoy zone-aware routing: send as much as possible to the load balancer's own zone while every
    replica gets about the same rate, spilling the residual to the zones that have capacity to spare.

    Two spreads over zones are compared: the originating side's (the load balancers that front this
    upstream and are up, ``see_origin``; without it, the configured spread of the upstream,
    ``see_upstream``, i.e. origins placed like the replicas) and the upstream's (replicas in rotation).
    With local_pct and upstream_pct the local zone's shares of each:

    - upstream_pct >= local_pct: everything stays in the local zone;
    - otherwise an attempt stays local with probability upstream_pct / local_pct, and the rest goes to
      another zone z chosen in proportion to its residual capacity upstream_pct[z] - local_pct[z]
      (zones with none get nothing).

    With no local replica in rotation it fails over to every zone (``failover``) or to none; with
    ``failover`` off it never leaves its zone. One load balancer in zone-a in front of replicas spread
    evenly over two zones thus sends half of its traffic to each zone, and three load balancers, one
    per zone, keep all traffic local while every zone is whole.
    """

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self.zone = zone
        self.configured_failover = True if spec is None else spec.failover
        self.failover = self.configured_failover
        self._inner = PowerOfChoices(rng, choice_count)
        self._coin = UniformSampler(rng)
        self._upstream: list[Any] | None = None
        self._origin: list[Any] | None = None
        self._plan_source: list[Any] | None = None
        self._plan_origin_up: tuple[bool, ...] | None = None
        self._plan: tuple[list[Any], float, list[tuple[float, list[Any]]]] = ([], 1.0, [])
        self.failovers = 0
        """Attempts sent out of the zone because no local replica was left."""
        self.spills = 0
        """Attempts sent to another zone by zone-aware routing (the residual the local zone cannot take)."""

    def see_upstream(self, servers: list[Any]) -> None:
        """The load balancer's whole upstream (in rotation or not; the list may grow or shrink later)."""
        self._upstream = servers

    def reroute(self, on: bool) -> None:
        """Operators let this balancer leave its zone (``on``) or take that back: failover is then on
        whatever the configuration says; off restores the configured setting. The plan is rebuilt."""
        self.failover = self.configured_failover or on
        self._plan_source = None

    def see_origin(self, balancers: list[Any]) -> None:
        """The originating side: every load balancer fronting this upstream (this one included), each with
        ``zone`` and ``available``."""
        self._origin = balancers

    def _local_pct(self) -> dict[str, float]:
        """The originating side's share per zone."""
        if self._origin is not None:
            zones = [b.zone for b in self._origin if b.available]
        elif self._upstream:
            zones = [s.zone for s in self._upstream]
        else:
            return {}
        return {z: zones.count(z) / len(zones) for z in set(zones)} if zones else {}

    def _make_plan(self, candidates: list[Any]) -> tuple[list[Any], float, list[tuple[float, list[Any]]]]:
        """Local candidates, the probability of staying local, and the spill zones with cumulative weights."""
        zone = self.zone
        local = [s for s in candidates if s.zone == zone]
        local_pct = self._local_pct()
        if not local or not self.failover or not local_pct.get(zone):
            return local, 1.0, []
        n = len(candidates)
        by_zone: dict[str, list[Any]] = {}
        for s in candidates:
            by_zone.setdefault(s.zone, []).append(s)
        upstream_local = len(local) / n
        if upstream_local >= local_pct[zone]:
            return local, 1.0, []
        residual = [(len(members) / n - local_pct.get(z, 0.0), members)
                    for z, members in sorted(by_zone.items()) if z != zone]
        residual = [(r, members) for r, members in residual if r > 0]
        if not residual:
            return local, 1.0, []
        total = sum(r for r, _ in residual)
        spill: list[tuple[float, list[Any]]] = []
        acc = 0.0
        for r, members in residual:
            acc += r / total
            spill.append((acc, members))
        return local, upstream_local / local_pct[zone], spill

    def pick(self, candidates: list[Any], attempt: Any) -> Any | None:
        origin = self._origin
        up = None if origin is None else tuple(b.available for b in origin)
        if candidates is not self._plan_source or up != self._plan_origin_up:
            self._plan_source = candidates  # held, so its identity cannot be reused by a new list
            self._plan_origin_up = up
            self._plan = self._make_plan(candidates)
        local, stay, spill = self._plan
        if local:
            if stay < 1.0 and self._coin() >= stay:
                self.spills += 1
                members = spill[0][1]
                if len(spill) > 1:
                    u = self._coin()
                    members = next((m for acc, m in spill if u < acc), spill[-1][1])
                return self._inner.pick(members, attempt)
            return self._inner.pick(local, attempt)
        if not self.failover:
            return None
        self.failovers += 1
        return self._inner.pick(candidates, attempt)


@functools.lru_cache(maxsize=1024)
def _client_hash(client: str) -> int:
    return zlib.crc32(client.encode())


def customer_key(attempt: Any) -> int:
    """A customer's key: (client population, user), hashed once per population."""
    req = attempt.request
    return (_client_hash(req.client) * 1_000_003 + req.user) & 0xFFFFFFFF


def _mix(a: int, b: int) -> int:
    """A 32-bit integer hash of two integers (rendezvous hashing score)."""
    x = (a * 0x9E3779B1 + b * 0x85EBCA77) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x


_MASK64 = 0xFFFFFFFFFFFFFFFF


def _jump(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach 2014): a uniform bucket in [0, buckets) in O(log buckets); when
    a bucket is added, a key moves (to the new one) with probability 1 / (buckets + 1) only."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK64
        j = int((b + 1) * (2147483648.0 / ((key >> 33) + 1)))
    return b


class _Known:
    """Every replica a policy has been offered, numbered in the order they became known (each new batch
    in name order), and each candidate list's replicas by that number, for the few lists a load balancer
    routes over at a time (the rotation, per model served; a rotation change makes a new list)."""

    __slots__ = ("numbers", "_lists")
    LISTS = 4

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self._lists: dict[int, tuple[list[Any], dict[int, Any]]] = {}

    def by_number(self, candidates: list[Any]) -> dict[int, Any]:
        """Number → replica, of one candidate list."""
        held = self._lists.get(id(candidates))
        if held is None or held[0] is not candidates or len(held[1]) != len(candidates):
            numbers = self.numbers
            for name in sorted({s.name for s in candidates if s.name not in numbers}):
                numbers[name] = len(numbers)
            if len(self._lists) >= self.LISTS:
                self._lists.clear()
            held = self._lists[id(candidates)] = (candidates, {numbers[s.name]: s for s in candidates})
        return held[1]


@BALANCERS.register("sticky")
class Sticky:
    """Session affinity: a user's requests reach the same replica while it is in rotation.

    A session's key draws a sequence of replicas (jump consistent hashing over every replica known, one draw
    per step); the session goes to the first one drawn that is a candidate. So every candidate gets the same
    share of sessions, and losing a replica moves only its sessions (the others' first candidate is
    unchanged), as rendezvous hashing does, in O(log n) per pick.

    ``stickiness`` (spec, default 1) is the chance that a user's next request stays in the user's
    session; otherwise it opens a new session, pinned afresh by the hash (a new conversation). With 1 a
    user is pinned for good (and nothing is kept per user); with 0 every request is placed afresh, as by a
    random balancer. Retries of a request stay in its session.
    """

    MAX_DRAWS = 64
    """Past this many draws (nearly every known replica out of rotation: fewer than about 1 in 16 left) the
    pick scans the candidates (rendezvous hashing among them)."""

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self._known = _Known()
        self.stickiness = 1.0 if spec is None else getattr(spec, "stickiness", 1.0)
        self._rng = rng
        self._sessions: dict[int, tuple[int, int]] = {}
        """customer key -> (id of the last request placed, its session number); only with stickiness < 1."""

    def _session_key(self, attempt: Any) -> int:
        key = customer_key(attempt)
        if self.stickiness >= 1.0:
            return key
        req_id = attempt.request.id
        last = self._sessions.get(key)
        if last is None:
            session = 0
        elif last[0] == req_id:
            session = last[1]
        else:
            session = last[1] + (self._rng.random() >= self.stickiness)
        self._sessions[key] = (req_id, session)
        return _mix(key, session) if session else key

    def pick(self, candidates: list[Any], attempt: Any) -> Any:
        by_number = self._known.by_number(candidates)
        n = len(self._known.numbers)
        key = self._session_key(attempt)
        for draw in range(self.MAX_DRAWS):
            server = by_number.get(_jump(_mix(key, draw), n))
            if server is not None:
                return server
        return by_number[max(by_number, key=lambda i: _mix(key, i))]  # rendezvous among the few left


@BALANCERS.register("shuffle_shard")
class ShuffleShard:
    """Each customer (client, user) is assigned ``shard_size`` replicas out of all, by a seeded hash; it is
    served by the least loaded of them in rotation, and by none else. A poison customer can only take
    down its own shard, so only customers whose whole shard is inside it lose service.

    A shard is drawn, not searched: the first ``shard_size`` distinct jump-hash draws of the customer's
    seeded key over every replica known (numbered in the order they became known): a uniform subset in
    O(shard_size x log n) per pick, nothing kept per customer; a new replica changes a customer's shard only
    with probability about shard_size / n.
    """

    def __init__(self, rng, choice_count: int = 2, spec: Any = None, zone: str | None = None):
        self.shard_size = 2 if spec is None else spec.shard_size
        self._seed = int(rng.integers(0, 2**31 - 1))
        self._known = _Known()

    def shard_of(self, key: int, n: int) -> frozenset[int]:
        """Numbers (in the order the replicas became known) of a customer's shard among ``n`` replicas."""
        return frozenset(self._shard(key, n))

    def _shard(self, key: int, n: int) -> list[int]:
        size = min(self.shard_size, n)
        key ^= self._seed
        picked: list[int] = []
        draw = 0
        while len(picked) < size:
            b = _jump(_mix(key, draw), n)
            draw += 1
            if b not in picked:
                picked.append(b)
        return picked

    def pick(self, candidates: list[Any], attempt: Any) -> Any | None:
        by_number = self._known.by_number(candidates)
        best = None
        for i in self._shard(customer_key(attempt), len(self._known.numbers)):
            s = by_number.get(i)
            if s is not None and (best is None or s.outstanding < best.outstanding):
                best = s
        return best
