"""The product's placement, driven as ``continuum run`` drives it, on the simulated world.

This adapter holds no policy. The simulated monitoring answers the scheduler API's snapshot
queries with the series the agents and the pipeline write (:mod:`bench.sim._prometheus`); the
API's own snapshot builder (``scheduler_api._snapshot.build_nodes``) makes node views of them;
the product's policy (``scheduler_api.placement.PlacementPolicy``) turns those into the
engine's nodes, and its engine places. The adapter then does what an executor does:

* at the start it submits the whole workflow (``GraphSubmitted``): the engine places each task
  once its parents finished (``ready`` mode), with upward ranks over the whole graph;
* whenever a node's figures refresh it sends the node's new view (``NodeSnapshot``), with the
  cores its own running tasks hold there, as ``continuum run`` does with the API's inventory;
* it runs a placed task when its node has a free lane (the policy's offer), in the engine's
  planned order, and reports starts and finishes (``TaskStarted``, ``TaskFinished``).

Workflow inputs are catalogued in the input store's site (and on nodes holding copies when the
graph is submitted); files the workflow writes are the outputs of their producing tasks.

Example::

    result = simulate(workflow, continuum, EngineScheduler(Heuristic.HEFT))
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.sim._continuum import ORIGIN
from bench.sim._prometheus import SimulatedPrometheus
from bench.sim._sim import Assignment, ClusterView
from scheduler_api._snapshot import build_network, build_nodes
from scheduler_api.placement import (
    DataInput,
    Decision,
    GraphSubmitted,
    Heuristic,
    NodeSnapshot,
    Place,
    PlacementPolicy,
    PolicyConfig,
    Replace,
    Requirements,
    TaskFinished,
    TaskSpec,
    TaskStarted,
)

__all__ = ["EngineScheduler"]


class EngineScheduler:
    """The product's policy and engine with one ready-queue heuristic.

    Args:
        heuristic: The ordering (``spt``, ``lpt``, ``lnsnl``, ``lns``, ``heft``).
        config: Policy settings other than the heuristic (the product's defaults when None).
    """

    def __init__(self, heuristic: Heuristic, config: PolicyConfig | None = None) -> None:
        self.heuristic = heuristic
        self._config = config or PolicyConfig()
        self.name = f"ours-{heuristic.value}"

    def start(self, view: ClusterView) -> None:
        self.monitoring = SimulatedPrometheus(view)
        network = build_network(self.monitoring.answers(range(len(view.continuum.nodes))))
        config = PolicyConfig(
            heuristic=self.heuristic,
            margin_stddevs=self._config.margin_stddevs,
            fast_share=self._config.fast_share,
            min_share=self._config.min_share,
            saturated=self._config.saturated,
            max_attempts=self._config.max_attempts,
            score_weight_s=self._config.score_weight_s,
        )
        self.policy = PlacementPolicy(config, network=network)
        self.engine = self.policy.new_engine()
        nodes = view.continuum.nodes
        self._ids = [n.id for n in nodes]
        self._index = {n.id: i for i, n in enumerate(nodes)}
        self._refresh: list[tuple[int, bool]] = [(-1, False)] * len(nodes)
        self._queues: list[list[tuple[float, str]]] = [[] for _ in nodes]
        self._snapshots(view, crowded=False)
        specs = tuple(self._spec(task_id, view) for task_id in view.workflow.tasks)
        self._apply(self.engine.handle(GraphSubmitted(specs, at_s=view.now_s)))

    # ------------------------------------------------------------ monitoring -> engine

    def _snapshots(self, view: ClusterView, crowded: bool) -> None:
        changed = []
        for idx in range(len(self._ids)):
            key = (int(view.stats(idx).as_of_s * 1000), crowded)
            if key != self._refresh[idx]:
                self._refresh[idx] = key
                changed.append(idx)
        if not changed:
            return
        tasks = view.workflow.tasks
        for snapshot in build_nodes(self.monitoring.answers(changed)):
            idx = self._index[snapshot.id]
            own = float(sum(tasks[t].cores for t in view.running[idx]))
            info = self.policy.node_info(snapshot, own_cores=own, crowded=crowded)
            self._apply(self.engine.handle(NodeSnapshot(info, at_s=view.now_s)))

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
                where = view.locations(file_id)
                holders = tuple(self._ids[n] for n in where if n != ORIGIN)
                # Workflow inputs stay in the store (in the origin's site) beside any copies.
                site = view.continuum.origin_site if ORIGIN in where else None
                inputs.append(DataInput(file_id, size, holders, site))
        return TaskSpec(
            task_id=task_id,
            work_s=task.runtime_s,
            requirements=Requirements(cpu_cores=task.cores, memory_bytes=task.memory_bytes),
            depends_on=depends,
            inputs=tuple(inputs),
            name=task.name,
        )

    # ------------------------------------------------------------ Scheduler protocol

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        tasks = view.workflow.tasks
        running = {
            self._ids[idx]: sum(tasks[t].cores for t in on_node)
            for idx, on_node in enumerate(view.running)
        }
        self._snapshots(view, crowded=self.policy.crowded(len(ready), running))
        return self._release(view)

    def _apply(self, decisions: Sequence[Decision]) -> None:
        """Queue placed tasks on their node; take moved ones off the node they leave."""
        for decision in decisions:
            if isinstance(decision, Replace):
                old = self._queues[self._index[decision.from_node_id]]
                old[:] = [entry for entry in old if entry[1] != decision.task_id]
            if isinstance(decision, Place | Replace):
                idx = self._index[decision.node_id]
                self._queues[idx].append((decision.est_start_s, decision.task_id))

    def _release(self, view: ClusterView) -> list[Assignment]:
        """Hand queued tasks to the executor while their node has a free lane."""
        out: list[Assignment] = []
        for idx, queue in enumerate(self._queues):
            if not queue:
                continue
            queue.sort()
            busy = len(view.running[idx])
            lanes = self.policy.lanes(self._ids[idx])
            while queue and busy < lanes:
                est_start, tid = queue.pop(0)
                out.append(Assignment(tid, idx, est_start))
                self._apply(self.engine.handle(TaskStarted(tid, self._ids[idx], at_s=view.now_s)))
                busy += 1
        return out

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        self._apply(self.engine.handle(TaskFinished(task_id, self._ids[node], at_s=view.now_s)))
