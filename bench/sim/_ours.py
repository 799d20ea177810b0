"""The project's placement engine, driven through its state machine as production drives it.

The shell here does what the API's monitoring shell does: every time a node's aggregates refresh
it sends a ``NodeSnapshot``; ready tasks go in as ``GraphSubmitted`` (the engine runs in
``ready`` mode: it places a task once its parents finished, from where their outputs live);
starts and finishes go in as ``TaskStarted`` / ``TaskFinished``. Each ``Place`` decision is
honoured as an executor would: the task joins the chosen node's queue and starts when one of
the node's lanes is free. Tasks waiting in a node's queue are placed again (``Replace``, perhaps
to the same node) whenever the node's figures refresh (``replan_on_snapshot``).

What the monitoring shows becomes the snapshot as follows (the engine's model is lanes at one
speed per node; the truth is processor sharing, so the shell picks the lanes that match it). On
a node with ``c`` cores, the background (1-minute mean utilisation less the workflow's own
tasks) splits by the steal share ``h`` into held load, whose ``c * (1 - h)`` usable cores are
all the tasks can get, and time-shared load ``b``, counted with one 5-minute standard deviation
``s`` of headroom (Trimaran's LoadVariationRiskBalancing margin). Each of ``k`` lanes then runs
at its processor share ``min(1, c * (1 - h) / (c * (b + s) + k))``. The node offers its free
cores ``floor(c * (1 - h - b - s))`` as lanes, plus more while each keeps
:data:`FAST_SHARE` of a core (a few tasks more on a big node busy with time-shared batch work
barely slow each other); when more work waits than free cores exist across the fleet, every
usable core is a lane: sharing busy cores beats waiting for free ones. A node where one more
task would get under :data:`MIN_SHARE` of a core is cordoned. A capped reading (a node at
100 %) understates what else runs there only when tasks wait, so the last unsaturated estimate
is kept while the node shows CPU pressure. A node reports its access link and its site's uplink
(the inventory's measured links), so the engine counts uplinks only between sites; workflow
inputs are served from the store's site. The engine books the transfers its own placements
imply on those links (``book_transfers``): a fan-out reading gigabytes from the store queues on
the uplinks it shares instead of each task expecting them to itself, and a task reading a file
already on its way to a node is expected to read it there.

The engine's ranker is the API's ranking model over the same figures, CPU pressure included
(:class:`MonitoredRanker`):
it filters nodes and, with the default ``score_weight_s = 0``, breaks ties between equal
estimated finishes. Larger weights were measured and lost (docs/benchmarks.md).

Example::

    result = simulate(workflow, continuum, EngineScheduler(Heuristic.HEFT))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.sim._continuum import ORIGIN
from bench.sim._sim import Assignment, ClusterView, processor_share
from scheduler_api import ranking
from scheduler_api.placement import (
    DataInput,
    Decision,
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

__all__ = ["FAST_SHARE", "MIN_SHARE", "SCORE_WEIGHT_S", "EngineScheduler", "MonitoredRanker"]

#: Seconds of estimated finish one unit of ranking score is worth (the engine's trade-off).
SCORE_WEIGHT_S = 0.0
#: A node where one more task would get less than this share of a core gets no new work.
MIN_SHARE = 0.5
#: Lanes beyond the free cores are offered while each keeps this share of a core.
FAST_SHARE = 0.9
#: Utilisation at which a node reads as full (the measurement is capped at 1).
SATURATED = 0.99


class MonitoredRanker:
    """The API's ranking model (``scheduler_api.ranking.rank``) over the monitoring's figures.

    The engine's ``NodeInfo`` carries one utilisation figure; the ranking model wants the
    windows (1-minute mean and max, 5-minute mean and standard deviation) for its headroom and
    LoadVariationRiskBalancing components, so the shell keeps the latest full snapshot per node.
    """

    def __init__(self) -> None:
        self.snapshots: dict[str, ranking.NodeSnapshot] = {}
        self._table: ranking.NodeTable | None = None

    def update(self, snapshot: ranking.NodeSnapshot) -> None:
        """Record a node's newest figures."""
        self.snapshots[snapshot.id] = snapshot
        self._table = None

    def __call__(self, requirements: Requirements, nodes: Sequence[NodeInfo]) -> dict[str, float]:
        if self._table is None:
            self._table = ranking.NodeTable.build(list(self.snapshots.values()))
        live = {n.node_id for n in nodes}
        answer = ranking.rank(
            ranking.TaskRequirements(
                cpu_cores=float(requirements.cpu_cores), memory_bytes=requirements.memory_bytes
            ),
            self._table,
            now_s=0.0,
            stale_after_s=math.inf,
        )
        return {e.node.id: e.score for e in answer.ranked if e.node.id in live}


class EngineScheduler:
    """``scheduler_api.placement.PlacementEngine`` with one ready-queue heuristic.

    Args:
        heuristic: The ordering (``spt``, ``lpt``, ``lnsnl``, ``lns``, ``heft``).
    """

    def __init__(self, heuristic: Heuristic, score_weight_s: float = SCORE_WEIGHT_S) -> None:
        self.heuristic = heuristic
        self.score_weight_s = score_weight_s
        self.name = f"ours-{heuristic.value}"

    def start(self, view: ClusterView) -> None:
        self.ranker = MonitoredRanker()
        self.engine = PlacementEngine(
            EngineConfig(
                heuristic=self.heuristic,
                mode="ready",
                score_weight_s=self.score_weight_s,
                # Plans made on older figures are redone at each refresh of their node: a batch
                # job arriving on a node with a queue would otherwise hold the queue there.
                replan_on_snapshot=True,
                # Its own transfers share links: a fan-out reading gigabytes from the store
                # would otherwise expect each task to have the store's uplink to itself.
                book_transfers=True,
            ),
            ranker=self.ranker,
        )
        nodes = view.continuum.nodes
        self._ids = [n.id for n in nodes]
        self._index = {n.id: i for i, n in enumerate(nodes)}
        self._refresh: list[tuple[int, bool]] = [(-1, False)] * len(nodes)
        self._lanes = [1] * len(nodes)
        self._free = [n.cores for n in nodes]
        self._background = [0.0] * len(nodes)
        self._crowded = False
        self._queues: list[list[tuple[float, str]]] = [[] for _ in nodes]
        self._submitted: set[str] = set()
        self._snapshots(view, crowded=False)

    # ------------------------------------------------------------ monitoring -> engine

    def _snapshots(self, view: ClusterView, crowded: bool) -> None:
        for idx, node in enumerate(view.continuum.nodes):
            stats = view.stats(idx)
            key = (int(stats.as_of_s * 1000), crowded)
            if key == self._refresh[idx]:
                continue
            self._refresh[idx] = key
            background = view.background_estimate(idx)
            if stats.cpu_max1m >= SATURATED and stats.cpu_pressure_some1m > 0.0:
                # A full node's utilisation is capped at 1, so taking our tasks out of it
                # understates what else runs there when tasks wait (pressure): keep the last
                # reading that was not full.
                background = max(background, self._background[idx])
            else:
                self._background[idx] = background
            held = min(background, stats.cpu_steal_avg1m)
            # The time-shared rest, with one standard deviation of headroom (Trimaran's
            # LoadVariationRiskBalancing margin) for a volatile node.
            shared_cores = node.cores * (background - held + stats.cpu_stddev5m)
            usable_cores = node.cores * (1.0 - held)
            free_cores = max(0.0, usable_cores - shared_cores)
            self._free[idx] = math.floor(free_cores)
            # The free cores are full-speed lanes (the engine gives a node's lanes one speed:
            # the processor share the simulator gives them); beyond them, lanes while each
            # keeps FAST_SHARE of a core (on a big node busy with time-shared work, a few
            # more tasks barely slow each other).
            lanes = max(1, self._free[idx])
            while lanes < usable_cores:
                if processor_share(usable_cores, shared_cores, lanes + 1) < FAST_SHARE:
                    break
                lanes += 1
            if crowded:
                # Every core the held load leaves is a lane: sharing busy cores beats waiting.
                lanes = max(lanes, round(usable_cores))
            self._lanes[idx] = lanes
            util = 1.0 - processor_share(usable_cores, shared_cores, lanes)
            uplink = view.continuum.site_links[node.site]
            self.ranker.update(
                ranking.NodeSnapshot(
                    id=node.id,
                    capacity=ranking.Capacity(float(node.cores), float(node.memory_bytes)),
                    tier=node.tier,
                    site=node.site,
                    pressure=ranking.Pressure(cpu=stats.cpu_pressure_some1m),
                    usage=ranking.Usage(
                        cpu_utilization=stats.cpu_avg1m,
                        cpu_utilization_avg5m=stats.cpu_avg5m,
                        cpu_utilization_stddev5m=stats.cpu_stddev5m,
                        cpu_utilization_max1m=stats.cpu_max1m,
                    ),
                    last_seen_s=stats.as_of_s,
                    relative_speed=node.speed,
                )
            )
            decisions = self.engine.handle(
                NodeSnapshot(
                    NodeInfo(
                        node_id=node.id,
                        cpu_cores=self._lanes[idx],
                        memory_bytes=node.memory_bytes,
                        tier=node.tier,
                        site=node.site,
                        speed=node.speed,
                        cpu_utilization=util,
                        bandwidth_bytes_per_s=node.access_bandwidth_bytes_s,
                        latency_s=node.access_latency_s,
                        uplink_bandwidth_bytes_per_s=uplink.bandwidth_bytes_s,
                        uplink_latency_s=uplink.latency_s,
                        # Cordoned while one more task would get under half a core: the engine
                        # then moves the tasks waiting in its queue (none has started there).
                        healthy=processor_share(usable_cores, shared_cores, 1) >= MIN_SHARE,
                    ),
                    at_s=view.now_s,
                )
            )
            self._apply(decisions)

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
            requirements=Requirements(cpu_cores=task.cores),
            depends_on=depends,
            inputs=tuple(inputs),
            name=task.name,
        )

    # ------------------------------------------------------------ Scheduler protocol

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        new = [tid for tid in ready if tid not in self._submitted]
        # More work waiting than free lanes: sharing busy cores beats waiting for free ones.
        queued = sum(len(q) for q in self._queues)
        spare = sum(max(0, f - len(r)) for f, r in zip(self._free, view.running, strict=True))
        self._snapshots(view, crowded=len(new) + queued > spare)
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
            self._apply(decisions)
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
            while queue and busy < self._lanes[idx]:
                est_start, tid = queue.pop(0)
                out.append(Assignment(tid, idx, est_start))
                self.engine.handle(TaskStarted(tid, self._ids[idx], at_s=view.now_s))
                busy += 1
        return out

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        self.engine.handle(TaskFinished(task_id, self._ids[node], at_s=view.now_s))
