"""Value types of the placement engine: what a task needs, what a node offers, events, decisions.

Everything here is an immutable dataclass with no behaviour beyond validation, so events and
decisions can be logged, compared in tests and sent over the wire as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scheduler_api.ranking import TaskRequirements

__all__ = [
    "Abandon",
    "DataInput",
    "Decision",
    "Event",
    "GraphSubmitted",
    "Heuristic",
    "NodeFailed",
    "NodeInfo",
    "NodeSnapshot",
    "Place",
    "Replace",
    "Requirements",
    "TaskFailed",
    "TaskFinished",
    "TaskSpec",
    "TaskStarted",
]

# A node's link when its snapshot says nothing: 1 Gbit/s, 0.5 ms one way.
DEFAULT_BANDWIDTH_BYTES_PER_S = 125_000_000.0
DEFAULT_LATENCY_S = 0.0005


class Heuristic(StrEnum):
    """Ready-queue orderings: which ready task is placed first.

    * ``spt``: shortest (mean estimated) processing time first.
    * ``lpt``: longest processing time first.
    * ``lnsnl``: largest number of successors in the next level (direct successors) first.
    * ``lns``: largest number of successors over all levels (all descendants) first.
    * ``heft``: largest upward rank first (Topcuoglu, Hariri and Wu, 2002): a task's mean
      cost plus the longest mean-cost path (computation and communication) to an exit task.

    Ties keep submission order, so every ordering is deterministic.
    """

    SPT = "spt"
    LPT = "lpt"
    LNSNL = "lnsnl"
    LNS = "lns"
    HEFT = "heft"


#: Hard constraints a node must meet to run a task: the ranking model's one requirements type.
#: The engine holds ``lanes`` (whole cores) of a node's timeline for it.
Requirements = TaskRequirements


@dataclass(frozen=True, slots=True)
class DataInput:
    """A dataset a task reads, and where copies of it live.

    Attributes:
        dataset_id: The dataset's id in the data-location catalogue.
        size_bytes: Bytes the task reads.
        node_ids: Nodes holding a copy; empty means outside the fleet (read over the
            destination node's link).
        site: The site a copy outside the fleet is served from (an object store's region),
            also when nodes hold copies: the cheapest of them and the store is read. A node of
            another site reads the store over both sites' uplinks, when nodes report them.
            None with no ``node_ids``: only the destination node's link counts.
    """

    dataset_id: str
    size_bytes: int
    node_ids: tuple[str, ...] = ()
    site: str | None = None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task of a workflow graph.

    Attributes:
        task_id: Unique id within the engine.
        work_s: Estimated run time on a reference node (``speed == 1.0``, idle).
        requirements: Hard constraints.
        depends_on: Parent task id -> bytes the parent's output sends to this task. A parent
            must be submitted before, or in the same graph as, its children.
        inputs: Datasets read at start.
        cost_s: Optional per-node run-time estimates (measured history) that override
            ``work_s / speed`` for those nodes.
        name: Human name (the function name), for tables and charts.
        not_before_s: Engine time before which it may not start.
        deadline_s: Engine time by which it must finish: placed where its estimated finish
            is earliest, and abandoned with the reason when even that is later.
    """

    task_id: str
    work_s: float = 1.0
    requirements: Requirements = field(default_factory=Requirements)
    depends_on: Mapping[str, int] = field(default_factory=dict)
    inputs: tuple[DataInput, ...] = ()
    cost_s: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    not_before_s: float | None = None
    deadline_s: float | None = None

    def __post_init__(self) -> None:
        if self.work_s < 0:
            raise ValueError(f"task {self.task_id}: work_s must be >= 0, got {self.work_s}")
        if (
            self.not_before_s is not None
            and self.deadline_s is not None
            and self.deadline_s < self.not_before_s
        ):
            raise ValueError(f"task {self.task_id}: deadline_s is before not_before_s")
        if self.task_id in self.depends_on:
            raise ValueError(f"task {self.task_id} depends on itself")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node as the engine plans on it: lanes, speed, links.

    The node view is ``scheduler_api.ranking.NodeSnapshot``, built from the Prometheus series;
    :class:`~scheduler_api.placement.PlacementPolicy` turns it into this (its ``node_info``), so
    lanes and speeds mean what the policy decided from the measurements. Tests and simple
    callers may build one directly.

    Attributes:
        node_id: Stable node id (the ``node`` label).
        cpu_cores: Cores; the node runs up to this many one-core tasks at once.
        memory_bytes: Memory capacity.
        gpus: GPU count.
        tier: ``edge``, ``cloud`` or ``hpc``.
        site: Site name.
        arch: CPU architecture (OTel `host.arch`: `amd64`, `arm64`; empty when unknown).
        labels: Operator labels.
        speed: Measured relative speed (1.0 = reference node; 2.0 runs work twice as fast).
        cpu_utilization: Measured background load in [0, 1]; it slows the node down to
            ``speed * max(MIN_SPEED_SHARE, 1 - cpu_utilization)``.
        memory_available_bytes: Measured free memory, or None to use the capacity.
        bandwidth_bytes_per_s: The node's link bandwidth to the rest of the fleet.
        latency_s: The node's one-way link latency to the rest of the fleet. A transfer from
            node a to node b costs ``latency_a + latency_b + bytes / min(bw_a, bw_b)``.
        uplink_bandwidth_bytes_per_s: The shared link from the node's site to the wide area,
            or None when not known. When sites report it, ``bandwidth_bytes_per_s`` and
            ``latency_s`` describe the node's own link to its site, and a transfer between
            sites also crosses both uplinks (their latencies add, the narrowest link sets the
            rate), while one inside a site does not.
        uplink_latency_s: One-way latency of that uplink.
        healthy: False when data is stale or a critical alert fires: no new placements.
        score: Optional precomputed ranking score in [0, 1], used when no ranker is given.
        capacity_cores: The node's cores in all, when the lanes are fewer (a busy node offers
            some of them): whether a task's size can ever fit is judged on this, whether it
            fits now on ``cpu_cores``. None: ``cpu_cores``.
        busy_watts: Watts the node adds from idle to all of ``capacity_cores`` busy (its
            measured power line, else its measured or rated power: ``ranking``'s energy
            estimate); a task on ``k`` cores for ``t`` seconds adds ``busy_watts * k / cores
            * t`` joules. None: unknown.
    """

    node_id: str
    cpu_cores: int = 1
    memory_bytes: int = 0
    gpus: int = 0
    tier: str = "cloud"
    site: str = "local"
    arch: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    speed: float = 1.0
    cpu_utilization: float = 0.0
    memory_available_bytes: int | None = None
    bandwidth_bytes_per_s: float = DEFAULT_BANDWIDTH_BYTES_PER_S
    latency_s: float = DEFAULT_LATENCY_S
    uplink_bandwidth_bytes_per_s: float | None = None
    uplink_latency_s: float = 0.0
    healthy: bool = True
    score: float | None = None
    capacity_cores: float | None = None
    busy_watts: float | None = None

    def __post_init__(self) -> None:
        if self.cpu_cores < 1:
            raise ValueError(f"node {self.node_id}: cpu_cores must be >= 1")
        if self.speed <= 0:
            raise ValueError(f"node {self.node_id}: speed must be > 0, got {self.speed}")
        if self.bandwidth_bytes_per_s <= 0 or self.latency_s < 0:
            raise ValueError(f"node {self.node_id}: bandwidth must be > 0 and latency >= 0")
        uplink = self.uplink_bandwidth_bytes_per_s
        if (uplink is not None and uplink <= 0) or self.uplink_latency_s < 0:
            raise ValueError(f"node {self.node_id}: uplink must be > 0 and its latency >= 0")
        if self.busy_watts is not None and not self.busy_watts >= 0:
            raise ValueError(f"node {self.node_id}: busy_watts must be >= 0")

    # What the hard constraints read (scheduler_api.ranking's ``Fit``): memory it can give now.
    @property
    def memory_free_bytes(self) -> float:
        """Measured free memory, or the capacity when nothing is measured."""
        if self.memory_available_bytes is None:
            return float(self.memory_bytes)
        return float(self.memory_available_bytes)

    @property
    def gpus_free(self) -> float:
        """GPUs the node offers (the engine books them by lane, not by count)."""
        return float(self.gpus)


# ---------------------------------------------------------------- events (in)


@dataclass(frozen=True, slots=True)
class GraphSubmitted:
    """New tasks (a whole graph, or one ready task). Parents may be earlier tasks."""

    tasks: tuple[TaskSpec, ...]
    at_s: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """An executor started a task on a node."""

    task_id: str
    node_id: str
    at_s: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A task completed; its output now lives on ``node_id``."""

    task_id: str
    node_id: str
    at_s: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """A task raised or its worker died; it is re-placed while attempts remain."""

    task_id: str
    node_id: str
    at_s: float
    reason: str = ""
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """A node appeared or its measurements changed (a failed node that reports again rejoins)."""

    node: NodeInfo
    at_s: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class NodeFailed:
    """A node is gone (alert or missed heartbeat): its unfinished tasks are re-placed."""

    node_id: str
    at_s: float
    reason: str = ""
    event_id: str = ""


Event = GraphSubmitted | TaskStarted | TaskFinished | TaskFailed | NodeSnapshot | NodeFailed


# ---------------------------------------------------------------- decisions (out)


@dataclass(frozen=True, slots=True)
class Place:
    """Run ``task_id`` on ``node_id``; the engine expects it to run in [start, finish].

    Attributes:
        decision_id: Increasing id, unique within one engine.
        task_id: The task.
        node_id: The chosen node.
        est_start_s: Estimated start (all inputs arrived, a lane free).
        est_finish_s: Estimated finish.
        attempt: 1 for the first placement, then 2, 3... after failures.
        cause: The ``event_id`` of the event that led to it (or the event's kind).
    """

    decision_id: int
    task_id: str
    node_id: str
    est_start_s: float
    est_finish_s: float
    attempt: int
    cause: str


@dataclass(frozen=True, slots=True)
class Replace:
    """Move ``task_id`` from ``from_node_id`` (failed, cordoned, or where it failed).

    With ``EngineConfig.replan_on_snapshot``, a task re-planned on its node's fresh figures is
    also a ``Replace``, possibly to the same node with new estimates.
    """

    decision_id: int
    task_id: str
    from_node_id: str
    node_id: str
    est_start_s: float
    est_finish_s: float
    attempt: int
    cause: str
    reason: str


@dataclass(frozen=True, slots=True)
class Abandon:
    """Give ``task_id`` up: attempts exhausted or no feasible node; its descendants too."""

    decision_id: int
    task_id: str
    reason: str
    cause: str


Decision = Place | Replace | Abandon
