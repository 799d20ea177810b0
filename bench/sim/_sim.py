"""Discrete-event simulator: a workflow on a continuum, placed by a scheduler, run on true load.

The scheduler sees the static inventory, the measured links, the data-location catalogue, its
own bookkeeping and the stale monitoring view (:mod:`bench.sim._monitor`); the execution uses the
true background load. A node admits a task while the tasks it holds request no more than its
cores and memory (like kubelet admission on requests); otherwise the task waits in the node's
queue. An admitted task first stages its inputs (:mod:`bench.sim._staging`: from the nearest
arrived copy, one transfer per source, over links shared max-min fairly with every other
transfer in flight), then runs. Schedulers estimate transfers on the idle network
(``transfer_s``, what a probe measures), so contention is something they meet, not something
they are told. Running tasks share the node with the background by processor sharing, except
for its held part (steal, pinned batch jobs, a primary function at higher priority;
:mod:`bench.sim._load`): with held load ``h`` and time-shared load ``b`` (shares of cores) and
the workflow's running cores ``w`` on a node of ``c`` cores, each task progresses at
``speed * min(1, c * (1 - h) / (b * c + w))``. Time with ``(h + b) * c + w > c`` counts as
overloaded.

Example::

    result = simulate(workflow, build_continuum(seed), RandomScheduler(seed))
    print(result.makespan_s, result.bytes_moved, result.overloaded_node_s)
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from bench.sim._continuum import LOAD_STEP_S, ORIGIN, Continuum
from bench.sim._monitor import Monitor, NodeStats
from bench.sim._staging import ARRIVED, NETWORK, FlowKey, Stager
from bench.sim._wfformat import Workflow

__all__ = [
    "Assignment",
    "ClusterView",
    "RunResult",
    "Scheduler",
    "SimulationError",
    "TaskRecord",
    "processor_share",
    "simulate",
]

# A scheduler that leaves ready tasks unplaced is asked again this often even if nothing happens.
_RETRY_S = 15.0
_EPS = 1e-9
_MAX_IDLE_RETRIES = 100


def processor_share(usable_cores: float, shared_cores: float, task_cores: float) -> float:
    """Share of a core each running task gets on a node (its speed is multiplied by it).

    Held load (steal, a primary function) is not shared: it takes its cores outright, and the
    time-shared load (``shared_cores`` busy) and the tasks (``task_cores``) split the
    ``usable_cores`` it leaves.
    """
    contenders = shared_cores + task_cores
    return min(1.0, usable_cores / contenders) if contenders > 0 else 1.0


class SimulationError(RuntimeError):
    """The run cannot finish (a scheduler placed on an unknown node, or never placed a task)."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """A scheduler's decision: run ``task_id`` on node index ``node``.

    Attributes:
        task_id: The task.
        node: Node index in the continuum.
        priority: Order in the node's queue when it must wait (lower runs first).
    """

    task_id: str
    node: int
    priority: float = 0.0


class ClusterView:
    """What every scheduler may know: inventory, links, data locations, bookkeeping, monitoring.

    Attributes:
        continuum: Static inventory and links (``nodes``, ``path``, ``transfer_s``); schedulers
            must not read ``background``: load is known only through :meth:`stats`.
        workflow: The workflow, with runtime estimates and file sizes.
        allocated_cores: Cores requested by the tasks bound to each node (admitted or queued).
        allocated_memory_bytes: Memory requested likewise.
        running: Task ids running (or pulling inputs) on each node.
    """

    def __init__(self, continuum: Continuum, workflow: Workflow, monitor: Monitor) -> None:
        self.continuum = continuum
        self.workflow = workflow
        self._monitor = monitor
        count = len(continuum.nodes)
        self.allocated_cores = [0] * count
        self.allocated_memory_bytes = [0] * count
        self.running: list[set[str]] = [set() for _ in range(count)]
        self._locations: dict[str, set[int]] = {}
        self.now_s = 0.0

    def stats(self, node: int) -> NodeStats:
        """The monitoring figures for ``node`` as of now (stale by up to a minute)."""
        return self._monitor.stats(node, self.now_s)

    def background_estimate(self, node: int) -> float:
        """Background load inferred from the monitoring: the 1-minute mean less own tasks.

        The agents measure the whole node; a scheduler that knows which of its own tasks run
        there takes their share out (what ran in the window is approximated by what runs now).
        """
        stats = self.stats(node)
        own = sum(self.workflow.tasks[t].cores for t in self.running[node])
        return max(0.0, stats.cpu_avg1m - own / self.continuum.nodes[node].cores)

    def add_copy(self, file_id: str, node: int) -> None:
        """Record that ``node`` now holds a copy of ``file_id``."""
        self._locations.setdefault(file_id, self.locations(file_id).copy()).add(node)

    def set_written(self, file_id: str, node: int) -> None:
        """Record that ``file_id`` was written on ``node`` (its only copy)."""
        self._locations[file_id] = {node}

    def locations(self, file_id: str) -> set[int]:
        """Nodes holding a copy of ``file_id`` (``ORIGIN`` for workflow inputs)."""
        return self._locations.get(file_id) or {ORIGIN}

    def pulls(self, task_id: str, node: int) -> list[tuple[str, int, int]]:
        """(file, source node, bytes) for each input ``node`` lacks, from its nearest copy."""
        out = []
        for file_id in self.workflow.tasks[task_id].inputs:
            where = self.locations(file_id)
            if node in where:
                continue
            size = self.workflow.files[file_id].size_bytes
            source = min(where, key=lambda s: self.continuum.transfer_s(s, node, size))
            out.append((file_id, source, size))
        return out

    def pull_s(self, task_id: str, node: int) -> float:
        """Seconds to pull a task's inputs onto ``node`` from the nearest copies, in parallel."""
        per_source: dict[int, int] = {}
        for _, source, size in self.pulls(task_id, node):
            per_source[source] = per_source.get(source, 0) + size
        return max(
            (self.continuum.transfer_s(s, node, b) for s, b in per_source.items()), default=0.0
        )


class Scheduler(Protocol):
    """A placement policy under test."""

    name: str

    def start(self, view: ClusterView) -> None:
        """A new run begins (reset all state)."""

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        """Place some of the ``ready`` tasks (unplaced ones are offered again later)."""

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        """A task it placed has finished on ``node``."""


@dataclass(slots=True)
class TaskRecord:
    """What happened to one task."""

    task_id: str
    node: int = -1
    ready_s: float = math.nan
    admitted_s: float = math.nan
    start_s: float = math.nan
    end_s: float = math.nan
    bytes_in: int = 0
    cross_tier_bytes_in: int = 0


@dataclass
class RunResult:
    """Outcome of one simulated run.

    Attributes:
        scheduler: Scheduler name.
        makespan_s: Time the last task finished.
        bytes_moved: Bytes transferred between distinct nodes (the input store included).
        cross_tier_bytes: Of those, bytes that crossed tiers.
        overloaded_node_s: Node-seconds during which demand exceeded the node's cores.
        tasks: Per-task record.
    """

    scheduler: str
    makespan_s: float
    bytes_moved: int
    cross_tier_bytes: int
    overloaded_node_s: float
    tasks: dict[str, TaskRecord] = field(repr=False)


class _Node:
    __slots__ = (
        "history_cores",
        "history_s",
        "last_s",
        "queue",
        "remaining",
        "run_cores",
        "version",
    )

    def __init__(self) -> None:
        self.remaining: dict[str, float] = {}
        self.run_cores = 0
        self.last_s = 0.0
        self.version = 0
        self.queue: list[tuple[float, int, str]] = []
        self.history_s: list[float] = [0.0]
        self.history_cores: list[int] = [0]


class _Run:
    def __init__(self, workflow: Workflow, continuum: Continuum, scheduler: Scheduler) -> None:
        self.wf = workflow
        self.world = continuum
        self.scheduler = scheduler
        self.nodes = [_Node() for _ in continuum.nodes]
        self.monitor = Monitor(continuum, self._own_cores_at)
        self.view = ClusterView(continuum, workflow, self.monitor)
        self.records = {tid: TaskRecord(tid) for tid in workflow.tasks}
        self.waiting = {tid: len(t.parents) for tid, t in workflow.tasks.items()}
        self.ready: dict[str, None] = {}
        self.events: list[tuple[float, int, str, object]] = []
        self.seq = 0
        self.done = 0
        self.bytes_moved = 0
        self.cross_tier_bytes = 0
        self.overloaded_s = 0.0
        self.retry_at_s = math.inf
        self.idle_retries = 0
        self.stager = Stager(continuum, self.view, self.push)

    # ------------------------------------------------------------ plumbing

    def _own_cores_at(self, node: int, at_s: float) -> float:
        n = self.nodes[node]
        return float(n.history_cores[bisect_right(n.history_s, at_s) - 1])

    def push(self, at_s: float, kind: str, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at_s, self.seq, kind, payload))

    def run(self) -> RunResult:
        self.scheduler.start(self.view)
        for tid, count in self.waiting.items():
            if count == 0:
                self._make_ready(tid, 0.0)
        self._offer(0.0)
        self.stager.arm()
        while self.events:
            now = self.events[0][0]
            self.view.now_s = now
            while self.events and self.events[0][0] <= now + _EPS:
                _, _, kind, payload = heapq.heappop(self.events)
                self._dispatch(now, kind, payload)
            self._offer(now)
            self.stager.arm()
        if self.done != len(self.wf.tasks):
            missing = [tid for tid, r in self.records.items() if math.isnan(r.end_s)][:5]
            raise SimulationError(f"{self.scheduler.name}: tasks never finished: {missing}")
        return RunResult(
            scheduler=self.scheduler.name,
            makespan_s=max(r.end_s for r in self.records.values()),
            bytes_moved=self.bytes_moved,
            cross_tier_bytes=self.cross_tier_bytes,
            overloaded_node_s=self.overloaded_s,
            tasks=self.records,
        )

    def _dispatch(self, now: float, kind: str, payload: object) -> None:
        if kind == "node":
            node, version = cast(tuple[int, int], payload)
            if self.nodes[node].version == version:
                self._advance(node, now)
                self._finish_due(node, now)
                self._reschedule(node, now)
        elif kind == NETWORK:
            self.stager.network_event(cast(int, payload), now)
        elif kind == ARRIVED:
            for where, tid in self.stager.arrived(cast(FlowKey, payload)):
                self._start(where, tid, now)
        # "retry" needs nothing: the loop offers the ready tasks again after every batch.

    # ------------------------------------------------------------ scheduling

    def _make_ready(self, tid: str, now: float) -> None:
        self.records[tid].ready_s = now
        self.ready[tid] = None

    def _offer(self, now: float) -> None:
        if not self.ready:
            return
        decisions = self.scheduler.schedule(list(self.ready), self.view)
        for a in decisions:
            if a.task_id not in self.ready:
                continue
            if not 0 <= a.node < len(self.nodes):
                raise SimulationError(f"{self.scheduler.name}: unknown node index {a.node}")
            del self.ready[a.task_id]
            self._bind(a, now)
        if self.ready and self.retry_at_s <= now + _EPS:
            self.retry_at_s = math.inf
            busy = any(n.remaining or n.queue for n in self.nodes) or any(self.view.running)
            self.idle_retries = 0 if busy else self.idle_retries + 1
            if self.idle_retries > _MAX_IDLE_RETRIES:
                raise SimulationError(
                    f"{self.scheduler.name}: leaves {len(self.ready)} ready task(s) unplaced"
                    " on an idle continuum"
                )
        if self.ready and self.retry_at_s == math.inf:
            self.retry_at_s = now + _RETRY_S
            self.push(self.retry_at_s, "retry", None)

    def _bind(self, a: Assignment, now: float) -> None:
        task = self.wf.tasks[a.task_id]
        self.records[a.task_id].node = a.node
        self.view.allocated_cores[a.node] += task.cores
        self.view.allocated_memory_bytes[a.node] += task.memory_bytes
        node = self.nodes[a.node]
        self.seq += 1
        heapq.heappush(node.queue, (a.priority, self.seq, a.task_id))
        self._admit(a.node, now)

    def _admit(self, idx: int, now: float) -> None:
        """Start pulling inputs for queued tasks while the node's cores allow."""
        node = self.nodes[idx]
        spec = self.world.nodes[idx]
        while node.queue:
            tid = node.queue[0][2]
            task = self.wf.tasks[tid]
            in_use = sum(self.wf.tasks[t].cores for t in self.view.running[idx])
            if in_use and in_use + task.cores > spec.cores:
                return
            heapq.heappop(node.queue)
            self.view.running[idx].add(tid)
            self.records[tid].admitted_s = now
            self._pull(tid, idx, now)

    def _pull(self, tid: str, idx: int, now: float) -> None:
        moved = self.stager.stage(tid, idx, now)
        record = self.records[tid]
        record.bytes_in = moved.bytes_in
        record.cross_tier_bytes_in = moved.cross_tier_bytes_in
        self.bytes_moved += moved.bytes_in
        self.cross_tier_bytes += moved.cross_tier_bytes_in
        if moved.ready:
            self._start(idx, tid, now)

    # ------------------------------------------------------------ execution

    def _start(self, idx: int, tid: str, now: float) -> None:
        self._advance(idx, now)
        node = self.nodes[idx]
        task = self.wf.tasks[tid]
        node.remaining[tid] = task.runtime_s
        node.run_cores += task.cores
        self._record_cores(node, now)
        self.records[tid].start_s = now
        self._reschedule(idx, now)

    def _rate(self, idx: int, at_s: float) -> tuple[float, float]:
        """(progress per second of each running task, demand in cores) on ``idx`` at ``at_s``."""
        spec = self.world.nodes[idx]
        held = self.world.held(idx, at_s)
        shared_cores = (self.world.background(idx, at_s) - held) * spec.cores
        demand = held * spec.cores + shared_cores + self.nodes[idx].run_cores
        share = processor_share(spec.cores * (1.0 - held), shared_cores, self.nodes[idx].run_cores)
        return spec.speed * share, demand

    def _advance(self, idx: int, now: float) -> None:
        node = self.nodes[idx]
        elapsed = now - node.last_s
        if elapsed > 0 and node.remaining:
            rate, demand = self._rate(idx, node.last_s)
            for tid in node.remaining:
                node.remaining[tid] -= rate * elapsed
            if demand > self.world.nodes[idx].cores + _EPS:
                self.overloaded_s += elapsed
        node.last_s = now

    def _finish_due(self, idx: int, now: float) -> None:
        node = self.nodes[idx]
        finished = [tid for tid, left in node.remaining.items() if left <= 1e-6]
        for tid in finished:
            task = self.wf.tasks[tid]
            del node.remaining[tid]
            node.run_cores -= task.cores
            self.view.running[idx].discard(tid)
            self.view.allocated_cores[idx] -= task.cores
            self.view.allocated_memory_bytes[idx] -= task.memory_bytes
            self.records[tid].end_s = now
            self.done += 1
            for file_id in task.outputs:
                self.view.set_written(file_id, idx)
            self.scheduler.task_finished(tid, idx, self.view)
            for child in task.children:
                self.waiting[child] -= 1
                if self.waiting[child] == 0:
                    self._make_ready(child, now)
        if finished:
            self._record_cores(node, now)
            self._admit(idx, now)

    def _record_cores(self, node: _Node, now: float) -> None:
        if node.history_s[-1] == now:
            node.history_cores[-1] = node.run_cores
        else:
            node.history_s.append(now)
            node.history_cores.append(node.run_cores)

    def _reschedule(self, idx: int, now: float) -> None:
        node = self.nodes[idx]
        node.version += 1
        if not node.remaining:
            return
        rate, _ = self._rate(idx, now)
        soonest = min(node.remaining.values()) / rate
        boundary = (math.floor(now / LOAD_STEP_S + _EPS) + 1) * LOAD_STEP_S
        self.push(min(now + max(soonest, 0.0), boundary), "node", (idx, node.version))


def simulate(workflow: Workflow, continuum: Continuum, scheduler: Scheduler) -> RunResult:
    """Run ``workflow`` on ``continuum`` under ``scheduler`` until every task finished.

    Args:
        workflow: The workflow.
        continuum: The world; its load trace is shared, so runs on one continuum see one load.
        scheduler: The policy; :meth:`Scheduler.start` resets it.

    Returns:
        The run's makespan, data movement, overload and per-task records.

    Raises:
        SimulationError: The scheduler placed on an unknown node or the run could not finish.
    """
    return _Run(workflow, continuum, scheduler).run()
