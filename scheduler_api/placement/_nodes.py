"""The engine's view of the fleet: per-node arrays for vectorised estimates, and lane timelines.

A node with ``cpu_cores`` cores has that many *lanes*; a task needing ``c`` cores holds ``c``
lanes for its estimated run. Each lane keeps its reservations sorted, so a task can be inserted
into an idle gap (HEFT's insertion policy) as well as appended after the last one.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduler_api.placement._types import NodeInfo, Requirements

__all__ = ["MIN_SPEED_SHARE", "Lane", "NodeTable"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A fully loaded node still gives a task this share of its speed (the OS scheduler shares cores).
MIN_SPEED_SHARE = 0.1
_INITIAL_CAPACITY = 64


@dataclass(slots=True)
class Lane:
    """One core's reservations: parallel sorted lists (non-overlapping intervals)."""

    starts: list[float] = field(default_factory=list)
    finishes: list[float] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)

    @property
    def end_s(self) -> float:
        return self.finishes[-1] if self.finishes else -math.inf

    def earliest_start(self, ready_s: float, duration_s: float) -> float:
        """Earliest start >= ``ready_s`` of a ``duration_s`` gap (insertion policy)."""
        start = ready_s
        # Intervals are disjoint and sorted, so finishes are sorted too.
        for index in range(bisect_right(self.finishes, start), len(self.starts)):
            if start + duration_s <= self.starts[index]:
                return start
            start = max(start, self.finishes[index])
        return start

    def reserve(self, start_s: float, finish_s: float, task_id: str) -> None:
        # By finish, not start: a zero-length reservation may sit just before an interval that
        # starts at the same instant (``earliest_start`` allows that), and finishes stay sorted.
        index = bisect_right(self.finishes, start_s)
        self.starts.insert(index, start_s)
        self.finishes.insert(index, finish_s)
        self.task_ids.insert(index, task_id)

    def release(self, task_id: str) -> bool:
        try:
            index = self.task_ids.index(task_id)
        except ValueError:
            return False
        del self.starts[index], self.finishes[index], self.task_ids[index]
        return True


class NodeTable:
    """Nodes by dense index, with numpy columns the engine's estimates vectorise over."""

    def __init__(self) -> None:
        self.infos: list[NodeInfo] = []
        self.index: dict[str, int] = {}
        self.lanes: list[list[Lane]] = []
        self.version = 0
        capacity = _INITIAL_CAPACITY
        self.inv_speed: FloatArray = np.ones(capacity)
        self.bandwidth: FloatArray = np.ones(capacity)
        self.latency: FloatArray = np.zeros(capacity)
        self.avail_s: FloatArray = np.full(capacity, -math.inf)
        self.placeable: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)
        self.alive: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)

    def __len__(self) -> int:
        return len(self.infos)

    # ------------------------------------------------------------ membership

    def upsert(self, info: NodeInfo) -> tuple[int, bool]:
        """Add or update a node; return its index and whether it was dead before."""
        idx = self.index.get(info.node_id)
        was_dead = False
        if idx is None:
            idx = len(self.infos)
            self._grow(idx + 1)
            self.index[info.node_id] = idx
            self.infos.append(info)
            self.lanes.append([Lane() for _ in range(info.cpu_cores)])
            was_dead = True
        else:
            was_dead = not bool(self.alive[idx])
            self.infos[idx] = info
            lanes = self.lanes[idx]
            if len(lanes) < info.cpu_cores:
                lanes.extend(Lane() for _ in range(info.cpu_cores - len(lanes)))
        share = max(MIN_SPEED_SHARE, 1.0 - min(1.0, max(0.0, info.cpu_utilization)))
        self.inv_speed[idx] = 1.0 / (info.speed * share)
        self.bandwidth[idx] = info.bandwidth_bytes_per_s
        self.latency[idx] = info.latency_s
        self.alive[idx] = True
        self.placeable[idx] = info.healthy
        self._refresh_avail(idx)
        self.version += 1
        return idx, was_dead

    def kill(self, idx: int) -> list[str]:
        """Mark a node dead, drop its reservations; return the task ids it held."""
        held: list[str] = []
        for lane in self.lanes[idx]:
            held.extend(task_id for task_id in lane.task_ids if task_id not in held)
        self.lanes[idx] = [Lane() for _ in range(self.infos[idx].cpu_cores)]
        self.alive[idx] = False
        self.placeable[idx] = False
        self.avail_s[idx] = -math.inf
        self.version += 1
        return held

    def usable_lanes(self, idx: int) -> list[Lane]:
        """Lanes new work may use (a node that shrank keeps old lanes until they drain)."""
        return self.lanes[idx][: self.infos[idx].cpu_cores]

    # ------------------------------------------------------------ feasibility

    def feasible(self, req: Requirements) -> IntArray:
        """Indices of placeable nodes meeting the hard constraints of ``req``."""
        chosen = [
            idx for idx, info in enumerate(self.infos) if self.placeable[idx] and meets(info, req)
        ]
        return np.asarray(chosen, dtype=np.int64)

    # ------------------------------------------------------------ estimates

    def transfer_s(self, src: int, dst: IntArray, size_bytes: int) -> FloatArray:
        """Seconds to move ``size_bytes`` from node ``src`` to each of ``dst`` (0 on itself)."""
        cost: FloatArray = self.latency[src] + self.latency[dst]
        if size_bytes:
            cost = cost + size_bytes / np.minimum(self.bandwidth[src], self.bandwidth[dst])
        cost[dst == src] = 0.0
        return cost

    def download_s(self, dst: IntArray, size_bytes: int) -> FloatArray:
        """Seconds to fetch ``size_bytes`` from outside the fleet onto each of ``dst``."""
        return self.latency[dst] + size_bytes / self.bandwidth[dst]

    def mean_inv_speed(self) -> float:
        alive = self.alive[: len(self)]
        return float(self.inv_speed[: len(self)][alive].mean()) if alive.any() else 1.0

    def mean_transfer_s(self, size_bytes: int) -> float:
        """Mean transfer time between two distinct live nodes (HEFT's mean edge cost)."""
        alive = self.alive[: len(self)]
        count = int(alive.sum())
        if count < 2:
            return 0.0
        latency = float(self.latency[: len(self)][alive].mean()) * 2.0
        if not size_bytes:
            return latency
        # min(bw_i, bw_j) over unordered pairs: with bw sorted ascending, pair (i < j) gives bw_i.
        bw = np.sort(self.bandwidth[: len(self)][alive])
        weights = np.arange(count - 1, -1, -1, dtype=np.float64)
        mean_inverse = float((weights / bw).sum()) / (count * (count - 1) / 2.0)
        return latency + size_bytes * mean_inverse

    # ------------------------------------------------------------ reservations

    def reserve(
        self, idx: int, lanes: list[Lane], start_s: float, finish_s: float, task_id: str
    ) -> None:
        for lane in lanes:
            lane.reserve(start_s, finish_s, task_id)
        self._refresh_avail(idx)

    def release(self, idx: int, task_id: str) -> None:
        for lane in self.lanes[idx]:
            lane.release(task_id)
        self._refresh_avail(idx)

    def _refresh_avail(self, idx: int) -> None:
        if self.alive[idx]:
            self.avail_s[idx] = min(lane.end_s for lane in self.usable_lanes(idx))

    def _grow(self, needed: int) -> None:
        capacity = len(self.inv_speed)
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity * 2)
        for name, fill in (
            ("inv_speed", 1.0),
            ("bandwidth", 1.0),
            ("latency", 0.0),
            ("avail_s", -math.inf),
        ):
            column: FloatArray = getattr(self, name)
            grown = np.full(new_capacity, fill)
            grown[:capacity] = column
            setattr(self, name, grown)
        for name in ("placeable", "alive"):
            flags: npt.NDArray[np.bool_] = getattr(self, name)
            grown_flags = np.zeros(new_capacity, dtype=bool)
            grown_flags[:capacity] = flags
            setattr(self, name, grown_flags)


def meets(info: NodeInfo, req: Requirements) -> bool:
    """Whether ``info`` satisfies the hard constraints of ``req`` (capacity, not load)."""
    memory = (
        info.memory_bytes if info.memory_available_bytes is None else info.memory_available_bytes
    )
    return (
        info.cpu_cores >= req.cpu_cores
        and (req.memory_bytes == 0 or memory >= req.memory_bytes)
        and info.gpus >= req.gpus
        and (req.tier is None or info.tier == req.tier)
        and (req.site is None or info.site == req.site)
        and (req.arch is None or info.arch == req.arch)
        and all(info.labels.get(key) == value for key, value in req.labels)
    )
