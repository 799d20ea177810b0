"""The engine's view of the fleet: per-node arrays for vectorised estimates, and lane timelines.

A node with ``cpu_cores`` cores has that many *lanes*; a task needing ``c`` cores holds ``c``
lanes for its estimated run. Each lane keeps its reservations sorted, so a task can be inserted
into an idle gap (HEFT's insertion policy) as well as appended after the last one. Nodes are
grouped by site; a site's uplink to the wide area (when nodes report it) is a per-site column, so
a transfer between sites can count it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduler_api.placement._types import NodeInfo, Requirements
from scheduler_api.ranking import meets

__all__ = ["MIN_SPEED_SHARE", "Lane", "LaneTable", "meets"]

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
    max_gap_s: float = 0.0
    """Longest idle gap before the last reservation, measured from the time of the last change
    (an upper bound later on, since time only moves forward)."""

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

    def reserve(self, start_s: float, finish_s: float, task_id: str, now_s: float) -> None:
        # By finish, not start: a zero-length reservation may sit just before an interval that
        # starts at the same instant (``earliest_start`` allows that), and finishes stay sorted.
        index = bisect_right(self.finishes, start_s)
        before = self.finishes[index - 1] if index else now_s
        split = self.starts[index] - before if index < len(self.starts) else None
        self.starts.insert(index, start_s)
        self.finishes.insert(index, finish_s)
        self.task_ids.insert(index, task_id)
        if split is not None and split >= self.max_gap_s:
            self.refresh_gap(now_s)  # the widest gap was split: find the next widest
            return
        pieces = start_s - before
        if index + 1 < len(self.starts):
            pieces = max(pieces, self.starts[index + 1] - finish_s)
        self.max_gap_s = max(self.max_gap_s, pieces, 0.0)

    def release(self, task_id: str) -> bool:
        try:
            index = self.task_ids.index(task_id)
        except ValueError:
            return False
        del self.starts[index], self.finishes[index], self.task_ids[index]
        return True

    def refresh_gap(self, now_s: float) -> None:
        if not self.starts:
            self.max_gap_s = 0.0
            return
        gap = max(0.0, self.starts[0] - now_s)
        for index in range(1, len(self.starts)):
            gap = max(gap, self.starts[index] - self.finishes[index - 1])
        self.max_gap_s = gap


class LaneTable:
    """The engine's nodes as lanes, by dense index, with numpy columns its estimates vectorise over.

    The ranking's ``scheduler_api.ranking.NodeTable`` holds the measured node view; this one
    holds what the policy made of it (lanes, speeds, links) and each lane's reservations.
    """

    def __init__(self) -> None:
        self.infos: list[NodeInfo] = []
        self.index: dict[str, int] = {}
        self.lanes: list[list[Lane]] = []
        self.version = 0
        capacity = _INITIAL_CAPACITY
        self.inv_speed: FloatArray = np.ones(capacity)
        self.bandwidth: FloatArray = np.ones(capacity)
        self.latency: FloatArray = np.zeros(capacity)
        # Joules per second a task adds per core it holds (NaN: the node's power is unknown).
        self.watts_per_core: FloatArray = np.full(capacity, math.nan)
        self.avail_s: FloatArray = np.full(capacity, -math.inf)
        # Insertion can only help on nodes with a gap at least as long as the task.
        self.gap_s: FloatArray = np.zeros(capacity)
        # Each node's lane ends, ascending, padded with +inf: column k-1 is when k lanes are
        # free, so a k-core task's earliest append is one vectorised lookup.
        self.sorted_ends: FloatArray = np.full((capacity, 1), math.inf)
        self.placeable: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)
        self.alive: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)
        # Each node's site index, and per site its uplink (inf and 0 while none is reported).
        self.site: IntArray = np.zeros(capacity, dtype=np.int64)
        self.site_index: dict[str, int] = {}
        self.site_uplink_bw: FloatArray = np.full(_INITIAL_CAPACITY, math.inf)
        self.site_uplink_latency: FloatArray = np.zeros(_INITIAL_CAPACITY)
        self.has_uplinks = False
        """Whether any node reported its site's uplink (transfers between sites then cross it)."""

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
        self.watts_per_core[idx] = (
            math.nan
            if info.busy_watts is None
            else info.busy_watts / max(info.capacity_cores or info.cpu_cores, 1e-9)
        )
        self.site[idx] = self._site(info)
        self.alive[idx] = True
        self.placeable[idx] = info.healthy
        self._refresh_avail(idx)
        self.version += 1
        return idx, was_dead

    def _site(self, info: NodeInfo) -> int:
        """The index of the node's site, its uplink updated from the node's report."""
        site = self.site_index.setdefault(info.site, len(self.site_index))
        if site >= len(self.site_uplink_bw):
            grow = len(self.site_uplink_bw)
            self.site_uplink_bw = np.concatenate([self.site_uplink_bw, np.full(grow, math.inf)])
            self.site_uplink_latency = np.concatenate([self.site_uplink_latency, np.zeros(grow)])
        if info.uplink_bandwidth_bytes_per_s is not None:
            self.site_uplink_bw[site] = info.uplink_bandwidth_bytes_per_s
            self.site_uplink_latency[site] = info.uplink_latency_s
            self.has_uplinks = True
        return site

    def kill(self, idx: int) -> list[str]:
        """Mark a node dead, drop its reservations; return the task ids it held."""
        held: list[str] = []
        for lane in self.lanes[idx]:
            held.extend(task_id for task_id in lane.task_ids if task_id not in held)
        self.lanes[idx] = [Lane() for _ in range(self.infos[idx].cpu_cores)]
        self.alive[idx] = False
        self.placeable[idx] = False
        self.avail_s[idx] = -math.inf
        self.gap_s[idx] = 0.0
        self.sorted_ends[idx] = math.inf
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

    def mean_inv_speed(self) -> float:
        alive = self.alive[: len(self)]
        return float(self.inv_speed[: len(self)][alive].mean()) if alive.any() else 1.0

    def mean_link(self) -> tuple[float, float]:
        """HEFT's mean edge cost between two distinct live nodes, as ``(seconds, s per byte)``:
        a transfer of b bytes costs ``seconds + b * s_per_byte`` on average.
        """
        alive = self.alive[: len(self)]
        count = int(alive.sum())
        if count < 2:
            return 0.0, 0.0
        latency = float(self.latency[: len(self)][alive].mean()) * 2.0
        # min(bw_i, bw_j) over unordered pairs: with bw sorted ascending, pair (i < j) gives bw_i.
        bw = np.sort(self.bandwidth[: len(self)][alive])
        weights = np.arange(count - 1, -1, -1, dtype=np.float64)
        return latency, float((weights / bw).sum()) / (count * (count - 1) / 2.0)

    # ------------------------------------------------------------ reservations

    def reserve(
        self,
        idx: int,
        lanes: list[Lane],
        start_s: float,
        finish_s: float,
        task_id: str,
        now_s: float,
    ) -> None:
        for lane in lanes:
            lane.reserve(start_s, finish_s, task_id, now_s)
        self._refresh_avail(idx)

    def release(self, idx: int, task_id: str, now_s: float) -> None:
        for lane in self.lanes[idx]:
            if lane.release(task_id):
                lane.refresh_gap(now_s)
        self._refresh_avail(idx)

    def _refresh_avail(self, idx: int) -> None:
        if self.alive[idx]:
            lanes = self.usable_lanes(idx)
            ends = sorted(lane.end_s for lane in lanes)
            if len(ends) > self.sorted_ends.shape[1]:
                wider = np.full((self.sorted_ends.shape[0], len(ends)), math.inf)
                wider[:, : self.sorted_ends.shape[1]] = self.sorted_ends
                self.sorted_ends = wider
            row = self.sorted_ends[idx]
            row[: len(ends)] = ends
            row[len(ends) :] = math.inf
            self.avail_s[idx] = ends[0]
            self.gap_s[idx] = max(lane.max_gap_s for lane in lanes)

    def _grow(self, needed: int) -> None:
        capacity = len(self.inv_speed)
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity * 2)
        for name, fill in (
            ("inv_speed", 1.0),
            ("bandwidth", 1.0),
            ("latency", 0.0),
            ("watts_per_core", math.nan),
            ("avail_s", -math.inf),
            ("gap_s", 0.0),
        ):
            column: FloatArray = getattr(self, name)
            grown = np.full(new_capacity, fill)
            grown[:capacity] = column
            setattr(self, name, grown)
        taller = np.full((new_capacity, self.sorted_ends.shape[1]), math.inf)
        taller[:capacity] = self.sorted_ends
        self.sorted_ends = taller
        sites = np.zeros(new_capacity, dtype=np.int64)
        sites[:capacity] = self.site
        self.site = sites
        for name in ("placeable", "alive"):
            flags: npt.NDArray[np.bool_] = getattr(self, name)
            grown_flags = np.zeros(new_capacity, dtype=bool)
            grown_flags[:capacity] = flags
            setattr(self, name, grown_flags)
