"""Transfers in flight on shared links: each link's capacity split max-min fairly among them.

TCP flows that share a bottleneck converge towards equal shares of it, and a flow held back
elsewhere leaves its unused share to the others; the fluid model of that is max-min fairness
(Bertsekas and Gallager, *Data Networks*, section 6.5), computed here by progressive filling:
raise every flow's rate together until some link is full (or some flow reaches its own cap),
fix the flows held there, and go on with the rest. Rates change only when a flow starts or
drains, so between those moments every flow drains linearly.

The network knows links by integer id and their capacities; routes come from
:meth:`bench.sim._continuum.Continuum.route`. Latency is not its business: the simulator adds
the path's latency to each transfer once its bytes have drained.

Example::

    network = FlowNetwork(continuum.link_capacity_bytes_s)
    network.start(("task-1", ORIGIN), continuum.route(ORIGIN, 5), 10**9, now_s=0.0,
                  cap_bytes_s=ORIGIN_STREAM_BYTES_S)
    at_s = network.next_drain_s()
    print(at_s, network.advance(at_s))   # ... [("task-1", -1)]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

__all__ = ["FlowNetwork"]

# A flow with less than this left has drained (float residue of rate * time).
_DRAINED_BYTES = 1.0


class _Flow:
    __slots__ = ("cap_bytes_s", "key", "left_bytes", "links", "rate_bytes_s")

    def __init__(
        self, key: Hashable, links: tuple[int, ...], size_bytes: float, cap_bytes_s: float
    ) -> None:
        self.key = key
        self.links = links
        self.left_bytes = size_bytes
        self.cap_bytes_s = cap_bytes_s
        self.rate_bytes_s = 0.0


class FlowNetwork:
    """The transfers in flight, their fair rates, and when the next one drains.

    Args:
        capacity_bytes_s: Capacity of each link, by link id.
    """

    def __init__(self, capacity_bytes_s: Sequence[float]) -> None:
        self._capacity = tuple(capacity_bytes_s)
        self._flows: dict[Hashable, _Flow] = {}
        self._drained: list[Hashable] = []
        self._last_s = 0.0
        self._stale = False

    def __len__(self) -> int:
        return len(self._flows)

    def start(
        self, key: Hashable, links: tuple[int, ...], size_bytes: int, *, now_s: float,
        cap_bytes_s: float = math.inf,
    ) -> None:  # fmt: skip
        """A transfer of ``size_bytes`` over ``links`` begins at ``now_s``.

        Args:
            key: Its name, returned by :meth:`advance` when it drains (unique among flows
                in flight).
            links: Link ids it crosses.
            size_bytes: Bytes to move.
            now_s: Now (not before the last call's time).
            cap_bytes_s: Its own ceiling, whatever the links leave it (one stream's limit).

        Raises:
            ValueError: ``key`` is already in flight.
        """
        if key in self._flows:
            raise ValueError(f"flow {key!r} is already in flight")
        self._drain(now_s)
        self._flows[key] = _Flow(key, links, float(size_bytes), cap_bytes_s)
        self._stale = True

    def advance(self, now_s: float) -> list[Hashable]:
        """Move every flow's bytes on to ``now_s``; return the keys of those that drained."""
        self._drain(now_s)
        drained, self._drained = self._drained, []
        return drained

    def next_drain_s(self) -> float:
        """When the next flow drains at the current rates (``inf`` with none in flight)."""
        if self._drained:  # drained already, not yet collected by :meth:`advance`
            return self._last_s
        if self._stale:
            self._allocate()
        soonest = math.inf
        for flow in self._flows.values():
            soonest = min(soonest, flow.left_bytes / flow.rate_bytes_s)
        return self._last_s + soonest

    def rate_bytes_s(self, key: Hashable) -> float:
        """The fair rate ``key`` gets now."""
        if self._stale:
            self._allocate()
        return self._flows[key].rate_bytes_s

    def _drain(self, now_s: float) -> None:
        if self._stale:
            self._allocate()
        elapsed = now_s - self._last_s
        self._last_s = max(self._last_s, now_s)
        done = []
        for flow in self._flows.values():
            if elapsed > 0:
                flow.left_bytes -= flow.rate_bytes_s * elapsed
            if flow.left_bytes <= _DRAINED_BYTES:
                done.append(flow.key)
        for key in done:
            del self._flows[key]
        if done:
            self._drained.extend(done)
            self._stale = True

    def _allocate(self) -> None:
        """Progressive filling: the max-min fair rate of every flow in flight."""
        self._stale = False
        users: dict[int, int] = {}
        for flow in self._flows.values():
            for link in flow.links:
                users[link] = users.get(link, 0) + 1
        spare = {link: self._capacity[link] for link in users}
        by_link: dict[int, list[_Flow]] = {link: [] for link in users}
        for flow in self._flows.values():
            for link in flow.links:
                by_link[link].append(flow)
        capped = sorted(
            (f for f in self._flows.values() if f.cap_bytes_s < math.inf),
            key=lambda f: f.cap_bytes_s,
        )
        pending = set(self._flows.values())
        while pending:
            share, tightest = math.inf, -1
            for link, count in users.items():
                if count and spare[link] / count < share:
                    share, tightest = spare[link] / count, link
            while capped and capped[0] not in pending:
                capped.pop(0)
            if capped and capped[0].cap_bytes_s <= share:
                # The stream's own ceiling binds before any link fills.
                group = [capped.pop(0)]
                rate = group[0].cap_bytes_s
            elif tightest >= 0:
                rate = share
                group = [f for f in by_link[tightest] if f in pending]
            else:  # no link and no cap: nothing holds it back
                rate = math.inf
                group = list(pending)
            for flow in group:
                flow.rate_bytes_s = rate
                pending.discard(flow)
                for link in flow.links:
                    spare[link] = max(0.0, spare[link] - rate)
                    users[link] -= 1
