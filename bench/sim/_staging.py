"""Staging: a task's inputs move onto its node before it runs.

For each input its node lacks, a task either joins a transfer of that file to that node already
in flight (another task there asked first: the file is fetched once per node) or fetches it from
its nearest copy, ranked as a probe would on the idle network. Files from one source travel as
one transfer; transfers share the links they cross (:class:`~bench.sim._network.FlowNetwork`).
A copy counts as present on a node only once it has arrived: its last byte drained and the
path's latency passed. Until then no task can read it there and no other node can fetch it from
there.

Example::

    stager = Stager(continuum, view, push)
    moved = stager.stage("task-1", node=5, now_s=0.0)   # transfers start
    ...
    for node, task_id in stager.arrived(key):    # on each ARRIVED event
        start(node, task_id)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from bench.sim._continuum import ORIGIN, ORIGIN_STREAM_BYTES_S, Continuum
from bench.sim._network import FlowNetwork

if TYPE_CHECKING:
    from bench.sim._sim import ClusterView

__all__ = ["ARRIVED", "NETWORK", "FlowKey", "Moved", "Stager"]

#: Event kinds the stager schedules through ``push``; the simulator hands them back.
ARRIVED = "arrived"
NETWORK = "network"
#: A transfer: (destination node, task that asked for it, source node).
FlowKey = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class Moved:
    """Bytes one task's staging put on the network.

    Attributes:
        bytes_in: Bytes it fetched (not those it waits for from another task's transfer).
        cross_tier_bytes_in: Of those, bytes from a node of another tier.
        ready: True when nothing had to move: the task can start at once.
    """

    bytes_in: int
    cross_tier_bytes_in: int
    ready: bool


class Stager:
    """Transfers in flight, who waits for them, and when each arrives.

    Args:
        continuum: Links and routes.
        view: Where copies live (read for the nearest copy, updated on arrival).
        push: ``push(at_s, kind, payload)`` schedules an event the simulator hands back:
            ``(NETWORK, version)`` to :meth:`network_event`, ``(ARRIVED, key)`` to
            :meth:`arrived`.
    """

    def __init__(
        self, continuum: Continuum, view: ClusterView, push: Callable[[float, str, object], None]
    ) -> None:
        self._world = continuum
        self._view = view
        self._push = push
        self._network = FlowNetwork(continuum.link_capacity_bytes_s)
        self._armed_s = math.inf
        self._version = 0
        self._latency_s: dict[FlowKey, float] = {}
        self._files: dict[FlowKey, list[str]] = {}
        # (node, file) in transit -> tasks on that node waiting for it.
        self._waiters: dict[tuple[int, str], list[str]] = {}
        self._left: dict[tuple[int, str], int] = {}

    def stage(self, task_id: str, node: int, now_s: float) -> Moved:
        """Start fetching what ``task_id`` lacks on ``node``; say what moved."""
        tier = self._world.nodes[node].tier
        per_source: dict[int, tuple[int, list[str]]] = {}
        waits = 0
        bytes_in = cross_tier = 0
        for file_id, source, size in self._view.pulls(task_id, node):
            waiting = self._waiters.get((node, file_id))
            if waiting is not None:
                waiting.append(task_id)
                waits += 1
                continue
            self._waiters[(node, file_id)] = []
            total, files = per_source.get(source, (0, []))
            per_source[source] = (total + size, [*files, file_id])
            bytes_in += size
            if self._world.tier_of(source) != tier:
                cross_tier += size
        if not per_source and not waits:
            return Moved(0, 0, ready=True)
        self._left[(node, task_id)] = waits + len(per_source)
        for source, (size, files) in per_source.items():
            key = (node, task_id, source)
            self._files[key] = files
            latency_s = self._world.path(source, node)[0]
            if size <= 0:
                self._push(now_s + latency_s, ARRIVED, key)
                continue
            self._latency_s[key] = latency_s
            cap = ORIGIN_STREAM_BYTES_S if source == ORIGIN else math.inf
            self._network.start(
                key, self._world.route(source, node), size, now_s=now_s, cap_bytes_s=cap
            )
        return Moved(bytes_in, cross_tier, ready=False)

    def network_event(self, version: int, now_s: float) -> None:
        """A wake-up for drained transfers: each arrives one path latency later."""
        if version != self._version:
            return  # superseded by a later wake-up
        self._armed_s = math.inf
        for key in self._network.advance(now_s):
            flow = cast(FlowKey, key)
            self._push(now_s + self._latency_s.pop(flow), ARRIVED, flow)

    def arrived(self, key: FlowKey) -> list[tuple[int, str]]:
        """A transfer arrived: its files are on its node; return the tasks now fully staged."""
        node, task_id, _ = key
        done: list[tuple[int, str]] = []
        for file_id in self._files.pop(key):
            self._view.add_copy(file_id, node)
            for waiter in self._waiters.pop((node, file_id)):
                self._count_down(node, waiter, done)
        self._count_down(node, task_id, done)
        return done

    def arm(self) -> None:
        """Schedule a wake-up for the next transfer to drain (call after every batch)."""
        at_s = self._network.next_drain_s()
        if at_s < math.inf and at_s != self._armed_s:
            self._armed_s = at_s
            self._version += 1
            self._push(at_s, NETWORK, self._version)

    def _count_down(self, node: int, task_id: str, done: list[tuple[int, str]]) -> None:
        self._left[(node, task_id)] -= 1
        if self._left[(node, task_id)] == 0:
            del self._left[(node, task_id)]
            done.append((node, task_id))
