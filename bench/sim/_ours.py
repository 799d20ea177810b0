"""The project's placement engine, driven through its state machine as production drives it.

The shell here does what the API's monitoring shell does: every time a node's aggregates refresh
it sends a ``NodeSnapshot``; ready tasks go in as ``GraphSubmitted`` (the engine runs in
``ready`` mode: it places a task once its parents finished, from where their outputs live);
starts and finishes go in as ``TaskStarted`` / ``TaskFinished``. Each ``Place`` decision is
honoured as an executor would: the task joins the chosen node's queue and starts when one of
the node's lanes is free.

What the monitoring shows becomes the snapshot as follows. A node with ``c`` cores whose
background (1-minute mean, less the workflow's own tasks) is ``b`` with a 5-minute standard
deviation ``s`` offers ``max(1, floor(c * (1 - b - s)))`` lanes at full speed: on a shared node,
free cores run a task at full speed, and a volatile node keeps one standard deviation of
headroom (Trimaran's LoadVariationRiskBalancing margin). A node's link is its path to the wide
area (access link and site uplink), the star model the engine uses.

Example::

    result = simulate(workflow, continuum, EngineScheduler(Heuristic.HEFT))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.sim._continuum import ORIGIN
from bench.sim._sim import Assignment, ClusterView
from scheduler_api.placement import (
    DataInput,
    EngineConfig,
    GraphSubmitted,
    Heuristic,
    NodeInfo,
    NodeSnapshot,
    Place,
    PlacementEngine,
    Replace,
    Requirements,
    TaskFinished,
    TaskSpec,
    TaskStarted,
)

__all__ = ["EngineScheduler"]


class EngineScheduler:
    """``scheduler_api.placement.PlacementEngine`` with one ready-queue heuristic.

    Args:
        heuristic: The ordering (``spt``, ``lpt``, ``lnsnl``, ``lns``, ``heft``).
    """

    def __init__(self, heuristic: Heuristic) -> None:
        self.heuristic = heuristic
        self.name = f"ours-{heuristic.value}"

    def start(self, view: ClusterView) -> None:
        self.engine = PlacementEngine(EngineConfig(heuristic=self.heuristic, mode="ready"))
        nodes = view.continuum.nodes
        self._ids = [n.id for n in nodes]
        self._index = {n.id: i for i, n in enumerate(nodes)}
        self._refresh = [-2] * len(nodes)
        self._lanes = [1] * len(nodes)
        self._queues: list[list[tuple[float, str]]] = [[] for _ in nodes]
        self._submitted: set[str] = set()
        self._snapshots(view)

    # ------------------------------------------------------------ monitoring -> engine

    def _snapshots(self, view: ClusterView) -> None:
        for idx, node in enumerate(view.continuum.nodes):
            stats = view.stats(idx)
            key = int(stats.as_of_s * 1000)
            if key == self._refresh[idx]:
                continue
            self._refresh[idx] = key
            background = view.background_estimate(idx)
            free = node.cores * (1.0 - background - stats.cpu_stddev5m)
            self._lanes[idx] = max(1, math.floor(free))
            latency, bandwidth = view.continuum.path(idx, ORIGIN)
            self.engine.handle(
                NodeSnapshot(
                    NodeInfo(
                        node_id=node.id,
                        cpu_cores=self._lanes[idx],
                        memory_bytes=node.memory_bytes,
                        tier=node.tier,
                        site=node.site,
                        speed=node.speed,
                        cpu_utilization=0.0,
                        bandwidth_bytes_per_s=bandwidth,
                        latency_s=latency / 2.0,
                    ),
                    at_s=view.now_s,
                )
            )

    def _spec(self, task_id: str, view: ClusterView) -> TaskSpec:
        wf = view.workflow
        task = wf.tasks[task_id]
        depends: dict[str, int] = {p: 0 for p in task.parents}
        inputs: list[DataInput] = []
        for file_id in task.inputs:
            size = wf.files[file_id].size_bytes
            producer = wf.producer(file_id)
            if producer is not None and producer in depends:
                depends[producer] += size
            else:
                holders = tuple(self._ids[n] for n in view.locations(file_id) if n != ORIGIN)
                inputs.append(DataInput(file_id, size, holders))
        return TaskSpec(
            task_id=task_id,
            work_s=task.runtime_s,
            requirements=Requirements(cpu_cores=task.cores),
            depends_on=depends,
            inputs=tuple(inputs),
            name=task.name,
        )

    # ------------------------------------------------------------ Scheduler protocol

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        self._snapshots(view)
        new = [tid for tid in ready if tid not in self._submitted]
        if new:
            # Parents already submitted (and finished) stay known to the engine; the whole
            # batch goes in at once so the heuristic orders it.
            wf = view.workflow
            missing_parents = {
                p for tid in new for p in wf.tasks[tid].parents if p not in self._submitted
            }
            if missing_parents:  # pragma: no cover - the simulator offers tasks parents-first
                raise RuntimeError(f"parents not submitted: {sorted(missing_parents)[:3]}")
            decisions = self.engine.handle(
                GraphSubmitted(tuple(self._spec(t, view) for t in new), at_s=view.now_s)
            )
            self._submitted.update(new)
            for decision in decisions:
                if isinstance(decision, Place | Replace):
                    idx = self._index[decision.node_id]
                    self._queues[idx].append((decision.est_start_s, decision.task_id))
        return self._release(view)

    def _release(self, view: ClusterView) -> list[Assignment]:
        """Hand queued tasks to the executor while their node has a free lane."""
        out: list[Assignment] = []
        for idx, queue in enumerate(self._queues):
            if not queue:
                continue
            queue.sort()
            busy = len(view.running[idx])
            while queue and busy < self._lanes[idx]:
                est_start, tid = queue.pop(0)
                out.append(Assignment(tid, idx, est_start))
                self.engine.handle(TaskStarted(tid, self._ids[idx], at_s=view.now_s))
                busy += 1
        return out

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        self.engine.handle(TaskFinished(task_id, self._ids[node], at_s=view.now_s))
