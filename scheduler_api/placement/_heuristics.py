"""Ready-queue priorities: one number per task, larger is placed first.

    priorities = priority(Heuristic.HEFT, tasks, children, mean_cost_s, mean_comm_s)

Only the graph's shape and mean costs matter here; nodes and time do not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

from scheduler_api.placement._types import Heuristic, TaskSpec

__all__ = ["priority", "topological_order"]


def topological_order(
    tasks: Mapping[str, TaskSpec], children: Mapping[str, Sequence[str]]
) -> list[str]:
    """Return the ids of ``tasks`` parents-first (Kahn's algorithm, submission order on ties).

    Parents outside ``tasks`` are taken as already known.

    Raises:
        ValueError: The graph has a cycle; the message names the tasks on it.
    """
    waiting = {
        task_id: sum(1 for parent in spec.depends_on if parent in tasks)
        for task_id, spec in tasks.items()
    }
    ready = deque(task_id for task_id, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for child in children.get(current, ()):
            if child in waiting:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
    if len(order) != len(tasks):
        stuck = sorted(task_id for task_id, count in waiting.items() if count > 0)
        raise ValueError(f"the task graph has a cycle through: {', '.join(stuck[:10])}")
    return order


def priority(
    heuristic: Heuristic,
    tasks: Mapping[str, TaskSpec],
    order: Sequence[str],
    children: Mapping[str, Sequence[str]],
    mean_cost_s: Callable[[TaskSpec], float],
    mean_comm_s: Callable[[int], float],
) -> dict[str, float]:
    """Priority of each task in ``tasks`` under ``heuristic`` (larger first).

    Args:
        heuristic: The ordering.
        tasks: The new tasks (children of these may only be among them).
        order: ``tasks`` in topological order.
        children: Task id -> child ids.
        mean_cost_s: A task's run time averaged over the nodes.
        mean_comm_s: Mean transfer time of that many bytes between two distinct nodes.

    Returns:
        Task id -> priority.
    """
    if heuristic is Heuristic.SPT:
        return {task_id: -mean_cost_s(tasks[task_id]) for task_id in order}
    if heuristic is Heuristic.LPT:
        return {task_id: mean_cost_s(tasks[task_id]) for task_id in order}
    if heuristic is Heuristic.LNSNL:
        return {task_id: float(len(children.get(task_id, ()))) for task_id in order}
    if heuristic is Heuristic.LNS:
        return _descendant_counts(order, children)
    return _upward_rank(tasks, order, children, mean_cost_s, mean_comm_s)


def _descendant_counts(
    order: Sequence[str], children: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    # Python ints as bitsets: one OR per edge, exact on DAGs with shared descendants.
    bit = {task_id: 1 << index for index, task_id in enumerate(order)}
    reach: dict[str, int] = {}
    for task_id in reversed(order):
        mask = 0
        for child in children.get(task_id, ()):
            mask |= bit[child] | reach[child]
        reach[task_id] = mask
    return {task_id: float(mask.bit_count()) for task_id, mask in reach.items()}


def _upward_rank(
    tasks: Mapping[str, TaskSpec],
    order: Sequence[str],
    children: Mapping[str, Sequence[str]],
    mean_cost_s: Callable[[TaskSpec], float],
    mean_comm_s: Callable[[int], float],
) -> dict[str, float]:
    rank: dict[str, float] = {}
    for task_id in reversed(order):
        longest = 0.0
        for child in children.get(task_id, ()):
            edge_s = mean_comm_s(tasks[child].depends_on[task_id])
            longest = max(longest, edge_s + rank[child])
        rank[task_id] = mean_cost_s(tasks[task_id]) + longest
    return rank
