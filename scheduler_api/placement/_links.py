"""Transfers the engine itself planned: the links each crosses, and the copies they leave.

Without it every estimate is made on an idle network: ten tasks placed at once on one site, each
reading a gigabyte from an object store, are each expected to get the whole uplink. With
``EngineConfig.book_transfers`` the engine books every transfer a placement implies on the links
it crosses (the destination node's link, the source node's link, and both sites' uplinks between
sites), and a later estimate queues behind what is booked there: on a link of bandwidth ``bw``
holding ``r`` booked bytes not yet moved, a transfer of ``b`` bytes that could start at ``t0``
finishes at ``max(t0, now + r / bw) + b / bw`` (the order a fair share would end the last of them
in), and the transfer's finish is the latest over its links plus the path's latency. A booked
transfer's bytes drain linearly over its estimated interval. A dataset booked onto a node is
read there by later tasks from that copy (an executor fetches a dataset once per node), at no
further cost. Bookings go when the task that made them finishes, fails or is placed again, and
its copies with them unless it ran; copies on a node that fails go with the node. Nothing here
measures the network: contention from other traffic stays unseen.

Example::

    book = LinkBook()
    book.add("t1", [Link(IN, 3), Link(DOWN, 1)], size_bytes=10**9, start_s=0.0, finish_s=8.0)
    book.add_copy("genome.vcf", node=3, arrival_s=8.0, task_id="t1")
    drains = book.drains(now_s=2.0, table=nodes)     # seconds until each link is free
    book.release("t1")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scheduler_api.placement._nodes import FloatArray, IntArray, LaneTable

__all__ = [
    "DOWN",
    "IN",
    "OUT",
    "UP",
    "CopyKey",
    "Drains",
    "Link",
    "LinkBook",
    "LinkKind",
    "Source",
    "crossed",
    "transfer_finish_s",
]


#: What a copy holds: ``("dataset", dataset_id)``, or ``("output", task_id)`` for the output of
#: a parent task (every child reading it from one node is taken to read the same bytes).
CopyKey = tuple[str, str]


class LinkKind(IntEnum):
    """A link direction: a node's own link in or out, its site's uplink down or up."""

    IN = 0
    OUT = 1
    DOWN = 2
    UP = 3


IN, OUT, DOWN, UP = LinkKind.IN, LinkKind.OUT, LinkKind.DOWN, LinkKind.UP


@dataclass(frozen=True, slots=True)
class Link:
    """One link direction: a node's (``IN``, ``OUT``: node index) or a site's (site index)."""

    kind: LinkKind
    index: int


@dataclass(frozen=True, slots=True)
class Source:
    """Where bytes come from: a node index (-1: outside the fleet) and its site (-1: unknown)."""

    node: int
    site: int


def _between_sites(table: LaneTable, source: Source) -> bool:
    """Whether a transfer from ``source`` may cross uplinks (its site and some uplink known)."""
    return table.has_uplinks and source.site >= 0


def transfer_finish_s(
    table: LaneTable, dst: IntArray, source: Source, size_bytes: int, start_s: float,
    drains: Drains | None,
) -> FloatArray:  # fmt: skip
    """When ``size_bytes`` from ``source``, leaving at ``start_s``, are on each of ``dst``.

    The path is the source node's link (none for a store outside the fleet), both uplinks when
    the sites differ, and the destination's link; latencies add, and on each link the bytes
    queue behind what ``drains`` says is booked there (``None``: an idle network). Zero on the
    source node itself.
    """
    latency: FloatArray = table.latency[dst]
    times: list[FloatArray | float] = [
        _wait(drains, IN, dst, start_s) + size_bytes / table.bandwidth[dst]
    ]
    if source.node >= 0:
        latency = table.latency[source.node] + latency
        times.append(
            _wait(drains, OUT, source.node, start_s) + size_bytes / table.bandwidth[source.node]
        )
    if _between_sites(table, source):
        dst_site = table.site[dst]
        cross = dst_site != source.site
        up_latency = table.site_uplink_latency
        latency = latency + np.where(cross, up_latency[source.site] + up_latency[dst_site], 0.0)
        uplink_bw = table.site_uplink_bw
        down = _wait(drains, DOWN, dst_site, start_s) + size_bytes / uplink_bw[dst_site]
        up = _wait(drains, UP, source.site, start_s) + size_bytes / uplink_bw[source.site]
        times.append(np.where(cross, down, 0.0))
        times.append(np.where(cross, up, 0.0))
    slowest = times[0]
    for time_s in times[1:]:
        slowest = np.maximum(slowest, time_s)
    cost: FloatArray = latency + slowest
    if source.node >= 0:
        cost = np.where(dst == source.node, 0.0, cost)
    return start_s + cost


def _wait(
    drains: Drains | None, kind: LinkKind, index: IntArray | int, start_s: float
) -> FloatArray | float:
    if drains is None:
        return 0.0
    return np.maximum(drains.of(kind)[index] - start_s, 0.0)


def crossed(table: LaneTable, source: Source, node: int) -> list[Link]:
    """The links a transfer from ``source`` to ``node`` books."""
    links = [Link(IN, node)]
    if source.node >= 0:
        links.append(Link(OUT, source.node))
    site = int(table.site[node])
    if _between_sites(table, source) and site != source.site:
        if math.isfinite(table.site_uplink_bw[site]):
            links.append(Link(DOWN, site))
        if math.isfinite(table.site_uplink_bw[source.site]):
            links.append(Link(UP, source.site))
    return links


@dataclass(frozen=True, slots=True)
class _Booking:
    link: Link
    size_bytes: int
    start_s: float
    finish_s: float

    def left_bytes(self, now_s: float) -> float:
        if now_s >= self.finish_s:
            return 0.0
        span = self.finish_s - self.start_s
        if span <= 0 or now_s <= self.start_s:
            return float(self.size_bytes)
        return self.size_bytes * (self.finish_s - now_s) / span


@dataclass(frozen=True, slots=True)
class Drains:
    """When each link is free of booked bytes: node links by node index, uplinks by site."""

    node_in: FloatArray
    node_out: FloatArray
    site_down: FloatArray
    site_up: FloatArray

    def of(self, kind: LinkKind) -> FloatArray:
        return (self.node_in, self.node_out, self.site_down, self.site_up)[kind]


@dataclass(slots=True)
class LinkBook:
    """Booked transfers per task, and the dataset copies they will leave on nodes."""

    _bookings: dict[str, list[_Booking]] = field(default_factory=dict)
    # data -> node index -> (arrival, task that fetches it)
    _copies: dict[CopyKey, dict[int, tuple[float, str]]] = field(default_factory=dict)
    _copies_of: dict[str, list[tuple[CopyKey, int]]] = field(default_factory=dict)
    # (now, bookings version, node table version) -> drains: the table's version counts too,
    # since a node that joins or reports a new link changes what the arrays must cover.
    _cache: tuple[float, int, int, Drains] | None = None
    _version: int = 0

    def add(
        self, task_id: str, links: list[Link], size_bytes: int, start_s: float, finish_s: float
    ) -> None:
        """Book ``size_bytes`` moving over ``links`` from ``start_s`` to ``finish_s``."""
        if size_bytes <= 0 or not links:
            return
        entries = self._bookings.setdefault(task_id, [])
        entries.extend(_Booking(link, size_bytes, start_s, finish_s) for link in links)
        self._version += 1

    def add_copy(self, key: CopyKey, node: int, arrival_s: float, task_id: str) -> None:
        """Record that ``task_id``'s transfers leave ``key`` on ``node`` at ``arrival_s``."""
        holders = self._copies.setdefault(key, {})
        if node not in holders:
            holders[node] = (arrival_s, task_id)
            self._copies_of.setdefault(task_id, []).append((key, node))

    def copies(self, key: CopyKey) -> dict[int, tuple[float, str]]:
        """Node index -> (arrival, fetching task) of the booked copies of ``key``."""
        return self._copies.get(key, {})

    def finished(self, task_id: str) -> None:
        """``task_id`` ran: its transfers are over, the copies they left stay on their nodes."""
        if self._bookings.pop(task_id, None) is not None:
            self._version += 1
        self._copies_of.pop(task_id, None)

    def release(self, task_id: str) -> None:
        """Forget the transfers and copies ``task_id`` booked (it failed or is placed again)."""
        if self._bookings.pop(task_id, None) is not None:
            self._version += 1
        for key, node in self._copies_of.pop(task_id, ()):
            self._drop_copy(key, node)

    def forget_node(self, node: int) -> None:
        """``node`` failed: the copies on it are gone (a node that comes back fetches again)."""
        for key in [k for k, holders in self._copies.items() if node in holders]:
            _, task_id = self._drop_copy(key, node)
            fetched = self._copies_of.get(task_id)
            if fetched is not None:  # the fetching task has not finished: it no longer leaves it
                fetched.remove((key, node))

    def _drop_copy(self, key: CopyKey, node: int) -> tuple[float, str]:
        """Take ``key``'s copy on ``node`` out of the catalogue; return its (arrival, task)."""
        holders = self._copies[key]
        entry = holders.pop(node)
        if not holders:
            del self._copies[key]
        return entry

    def drains(self, now_s: float, table: LaneTable) -> Drains:
        """The time each link finishes its booked bytes (``-inf`` where nothing is booked)."""
        key = (now_s, self._version, table.version)
        if self._cache is not None and self._cache[:3] == key:
            return self._cache[3]
        nodes = len(table)
        sites = len(table.site_index)
        left = [np.zeros(nodes), np.zeros(nodes), np.zeros(sites), np.zeros(sites)]
        for entries in self._bookings.values():
            for booking in entries:
                link = booking.link
                left[link.kind][link.index] += booking.left_bytes(now_s)
        bandwidth = (
            table.bandwidth[:nodes],
            table.bandwidth[:nodes],
            table.site_uplink_bw[:sites],
            table.site_uplink_bw[:sites],
        )
        free = [
            np.where(queued > 0, now_s + queued / bw, -math.inf)
            for queued, bw in zip(left, bandwidth, strict=True)
        ]
        drains = Drains(*free)
        self._cache = (*key, drains)
        return drains
