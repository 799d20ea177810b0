"""Workload distribution, from the placement history: what each node runs and holds queued, how
many placements it took over time, and each workflow's share of its busy time.

A pure function of plan records (``PlacementHistory.get``), so the API, tests and reports read
the same figures::

    view = node_workload(records, since_s=now - 3600, until_s=now, bucket_s=300)
    view["edge-1"].running, view["edge-1"].placements, view["edge-1"].shares

A task is running on a node from its ``started`` transition until the ``finished``, ``failed``
or a new placement that follows, and queued there while its latest transition is ``placed`` or
``replaced``. Busy time counts running attempts, clipped to the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from scheduler_api.workflow._history import PlanRecord

__all__ = ["NodeWorkload", "WorkflowShare", "node_workload"]

_QUEUED = ("placed", "replaced")
_ENDED = ("finished", "failed", "abandoned")


@dataclass(frozen=True, slots=True)
class WorkflowShare:
    """One workflow's part of a node's busy time in the window.

    Attributes:
        workflow_id: the placement history id of the run or plan.
        busy_s: seconds its tasks ran on the node, summed over concurrent tasks.
        share: ``busy_s`` over the node's busy seconds of every workflow.
        tasks: how many of its tasks ran there.
    """

    workflow_id: str
    busy_s: float
    share: float
    tasks: int


@dataclass(slots=True)
class NodeWorkload:
    """What one node ran and holds.

    Attributes:
        node: the node id.
        running: tasks running there now (at the window's end).
        queued: tasks placed there and not started.
        placements: placements (and re-placements) onto it per bucket, oldest first.
        busy_s: seconds of running tasks in the window, summed over concurrent tasks.
        shares: each workflow's part of ``busy_s``, largest first.
    """

    node: str
    running: int = 0
    queued: int = 0
    placements: list[int] = field(default_factory=list)
    busy_s: float = 0.0
    shares: list[WorkflowShare] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Run:
    """One attempt's stay on a node."""

    node: str
    workflow: str
    task: str
    start_s: float
    end_s: float


def node_workload(
    records: Iterable[PlanRecord], *, since_s: float, until_s: float, bucket_s: float
) -> dict[str, NodeWorkload]:
    """Each node's running and queued tasks, placements per bucket and workflow shares.

    Args:
        records: plans with their transitions.
        since_s: the window's start (Unix time).
        until_s: its end; running and queued are counted as of then.
        bucket_s: width of the placement-count buckets.

    Raises:
        ValueError: an empty window or a bucket width that is not positive.
    """
    if until_s <= since_s or bucket_s <= 0:
        raise ValueError("the window must be non-empty and bucket_s positive")
    buckets = math.ceil((until_s - since_s) / bucket_s)
    nodes: dict[str, NodeWorkload] = {}

    def node(node_id: str) -> NodeWorkload:
        if node_id not in nodes:
            nodes[node_id] = NodeWorkload(node_id, placements=[0] * buckets)
        return nodes[node_id]

    runs: list[_Run] = []
    for record in records:
        latest: dict[str, tuple[str, str]] = {}  # task -> (state, node)
        started: dict[str, tuple[str, float]] = {}  # task -> (node, since)
        for t in record.transitions:
            if t.at_s > until_s:
                continue  # after the window's end
            latest[t.task_id] = (t.state, t.node_id)
            if t.state in _QUEUED and t.node_id and t.at_s >= since_s:
                bucket = min(buckets - 1, int((t.at_s - since_s) // bucket_s))
                node(t.node_id).placements[bucket] += 1
            if t.state == "started":
                started[t.task_id] = (t.node_id, t.at_s)
            elif t.task_id in started and t.state in (*_ENDED, *_QUEUED):
                where, began = started.pop(t.task_id)
                runs.append(_Run(where, record.plan_id, t.task_id, began, t.at_s))
        runs.extend(
            _Run(where, record.plan_id, task_id, began, until_s)
            for task_id, (where, began) in started.items()
        )
        for state, where in latest.values():
            if state == "started":
                node(where).running += 1
            elif state in _QUEUED and where:
                node(where).queued += 1
    busy_s: dict[tuple[str, str], float] = {}
    tasks: dict[tuple[str, str], set[str]] = {}
    for run in runs:
        seconds = max(0.0, min(run.end_s, until_s) - max(run.start_s, since_s))
        if seconds > 0 and run.node:
            key = (run.node, run.workflow)
            busy_s[key] = busy_s.get(key, 0.0) + seconds
            tasks.setdefault(key, set()).add(run.task)
    for (where, _), seconds in busy_s.items():
        node(where).busy_s += seconds
    for (where, workflow), seconds in busy_s.items():
        view = nodes[where]
        share = WorkflowShare(
            workflow, seconds, seconds / view.busy_s, len(tasks[(where, workflow)])
        )
        view.shares.append(share)
    for view in nodes.values():
        view.shares.sort(key=lambda s: (-s.busy_s, s.workflow_id))
    return dict(sorted(nodes.items()))
