"""HEFT baselines (Topcuoglu, Hariri and Wu, 2002): static (planned up front) and online.

Both use the same estimates: a task's time on a node is its runtime over the node's speed times
the share of the node the monitoring leaves free (background load inferred from the 1-minute
mean); transfers use the measured links; each node has one lane per core.

* :class:`StaticHeft` plans the whole graph at time 0 with the first monitoring view (upward
  rank order, earliest finish time with the insertion policy), then replays the plan: each task
  goes to its planned node when it is ready, queued there in planned-start order, whatever the
  load turns out to be.
* :class:`OnlineHeft` places ready tasks as they appear, highest upward rank first, each on the
  node with the earliest estimated finish under the latest view and its own lane bookkeeping.

Example::

    result = simulate(workflow, continuum, StaticHeft())
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.sim._continuum import ORIGIN
from bench.sim._sim import Assignment, ClusterView
from bench.sim._wfformat import Workflow

__all__ = ["OnlineHeft", "StaticHeft", "upward_ranks"]

# A loaded node still gives a task this share of a core (the engine's floor, for the same reason).
_MIN_SHARE = 0.1


def _edge_bytes(workflow: Workflow, parent: str, child: str) -> int:
    outputs = set(workflow.tasks[parent].outputs)
    return sum(workflow.files[f].size_bytes for f in workflow.tasks[child].inputs if f in outputs)


def upward_ranks(
    workflow: Workflow, view: ClusterView, inv_speed: Sequence[float]
) -> dict[str, float]:
    """HEFT upward rank: mean cost plus the longest mean path (cost and transfer) to an exit.

    Args:
        workflow: The graph.
        view: Links between nodes (for the mean transfer cost).
        inv_speed: Per-node seconds per reference-second (load included).
    """
    world = view.continuum
    count = len(world.nodes)
    pairs = [world.path(a, b) for a in range(count) for b in range(count) if a != b]
    mean_latency = sum(p[0] for p in pairs) / len(pairs)
    mean_inv_bw = sum(1.0 / p[1] for p in pairs) / len(pairs)
    mean_inv_speed = sum(inv_speed) / count
    rank: dict[str, float] = {}
    for tid in reversed(list(workflow.tasks)):
        task = workflow.tasks[tid]
        tail = 0.0
        for child in task.children:
            size = _edge_bytes(workflow, tid, child)
            comm = (mean_latency + size * mean_inv_bw) if size else 0.0
            tail = max(tail, comm + rank[child])
        rank[tid] = task.runtime_s * mean_inv_speed + tail
    return rank


def _inv_speeds(view: ClusterView) -> list[float]:
    return [
        1.0 / (n.speed * max(_MIN_SHARE, 1.0 - view.background_estimate(idx)))
        for idx, n in enumerate(view.continuum.nodes)
    ]


class _Lanes:
    """Per node, per core: sorted reserved intervals (start, finish)."""

    def __init__(self, view: ClusterView) -> None:
        self.lanes: list[list[list[tuple[float, float]]]] = [
            [[] for _ in range(n.cores)] for n in view.continuum.nodes
        ]
        self.owner: dict[str, tuple[int, list[int], float, float]] = {}

    def earliest(
        self, node: int, ready_s: float, duration_s: float, cores: int
    ) -> tuple[float, list[int]]:
        """Earliest start >= ready_s with ``cores`` lanes free for ``duration_s`` (insertion)."""
        starts = []
        for lane_idx, lane in enumerate(self.lanes[node]):
            start = ready_s
            for s, f in lane:
                if f <= start:
                    continue
                if start + duration_s <= s:
                    break
                start = max(start, f)
            starts.append((start, lane_idx))
        starts.sort()
        chosen = starts[: max(1, min(cores, len(starts)))]
        return max(s for s, _ in chosen), [i for _, i in chosen]

    def reserve(
        self, task_id: str, node: int, lanes: list[int], start_s: float, finish_s: float
    ) -> None:
        for lane_idx in lanes:
            lane: list[tuple[float, float]] = self.lanes[node][lane_idx]
            lane.append((start_s, finish_s))
            lane.sort()
        self.owner[task_id] = (node, lanes, start_s, finish_s)

    def truncate(self, task_id: str, now_s: float) -> None:
        """The task finished at ``now_s``: free what is left of its reservation."""
        node, lanes, start_s, finish_s = self.owner.pop(task_id, (-1, [], 0.0, 0.0))
        for lane_idx in lanes:
            lane: list[tuple[float, float]] = self.lanes[node][lane_idx]
            lane.remove((start_s, finish_s))


def _best_node(
    tid: str, view: ClusterView, lanes: _Lanes, inv_speed: Sequence[float],
    ready_at: list[float],
) -> tuple[int, float, float, list[int]]:  # fmt: skip
    task = view.workflow.tasks[tid]
    best = (-1, math.inf, math.inf, [0])
    for idx in range(len(view.continuum.nodes)):
        duration = task.runtime_s * inv_speed[idx]
        start, chosen = lanes.earliest(idx, ready_at[idx], duration, task.cores)
        if start + duration < best[2]:
            best = (idx, start, start + duration, chosen)
    return best


class StaticHeft:
    """HEFT planned once at time 0, then replayed under the live load."""

    name = "heft-static"

    def start(self, view: ClusterView) -> None:
        wf = view.workflow
        world = view.continuum
        inv_speed = _inv_speeds(view)
        rank = upward_ranks(wf, view, inv_speed)
        lanes = _Lanes(view)
        placed: dict[str, tuple[int, float]] = {}
        self.plan: dict[str, tuple[int, float]] = {}
        for tid in sorted(wf.tasks, key=lambda t: -rank[t]):
            task = wf.tasks[tid]
            ready_at = []
            for idx in range(len(world.nodes)):
                ready = 0.0
                for parent in task.parents:
                    p_node, p_finish = placed[parent]
                    size = _edge_bytes(wf, parent, tid)
                    ready = max(ready, p_finish + world.transfer_s(p_node, idx, size))
                external = sum(
                    wf.files[f].size_bytes for f in task.inputs if wf.producer(f) is None
                )
                if external:
                    ready = max(ready, world.transfer_s(ORIGIN, idx, external))
                ready_at.append(ready)
            node, start, finish, chosen = _best_node(tid, view, lanes, inv_speed, ready_at)
            lanes.reserve(tid, node, chosen, start, finish)
            placed[tid] = (node, finish)
            self.plan[tid] = (node, start)

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        return [Assignment(tid, self.plan[tid][0], self.plan[tid][1]) for tid in ready]

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        return None


class OnlineHeft:
    """HEFT decided at run time: ready tasks by upward rank, each to its earliest finish."""

    name = "heft-online"

    def start(self, view: ClusterView) -> None:
        self.rank = upward_ranks(view.workflow, view, _inv_speeds(view))
        self.lanes = _Lanes(view)

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        inv_speed = _inv_speeds(view)
        now = view.now_s
        placed = []
        for tid in sorted(ready, key=lambda t: -self.rank[t]):
            ready_at = [now + view.pull_s(tid, idx) for idx in range(len(view.continuum.nodes))]
            node, start, finish, chosen = _best_node(tid, view, self.lanes, inv_speed, ready_at)
            self.lanes.reserve(tid, node, chosen, start, finish)
            placed.append(Assignment(tid, node, start))
        return placed

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        self.lanes.truncate(task_id, view.now_s)
