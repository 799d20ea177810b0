"""Efficiency of requests: CPU seconds used against cores requested, peak memory against memory
requested, per task and per workflow, from the attempt records (``TaskLogStore``).

Each task counts by its last successful attempt (else its last one). A task that asked for two
cores and kept one busy for its whole run has a CPU efficiency of 0.5; the cores it held idle,
times its run time, are its idle core-seconds, which rank the most over-requested tasks::

    tasks = task_efficiency(run_id, store.get(run_id))
    workflow_efficiency(run_id, tasks).cpu_efficiency
    most_over_requested(tasks, limit=10)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scheduler_api.workflow._logs import AttemptLog

__all__ = [
    "TaskEfficiency",
    "WorkflowEfficiency",
    "most_over_requested",
    "task_efficiency",
    "workflow_efficiency",
]


def _ratio(used: float, asked: float) -> float | None:
    return used / asked if asked > 0 else None


@dataclass(frozen=True, slots=True)
class TaskEfficiency:
    """One task's use of what it asked for.

    Attributes:
        workflow_id: the run.
        task_id: the task.
        attempt: the attempt it is judged by.
        node: where that attempt ran.
        wall_s: its run time.
        cpu_s: the CPU seconds it used.
        cpu_cores_requested: the cores it asked for.
        cpu_efficiency: ``cpu_s / (cores x wall_s)``; None without a run time.
        idle_core_s: ``cores x wall_s - cpu_s``: reserved and unused (0 at least).
        peak_memory_bytes: its peak resident memory.
        memory_bytes_requested: the memory it asked for (0: none stated).
        memory_efficiency: peak over requested; None when it asked for none.
    """

    workflow_id: str
    task_id: str
    attempt: int
    node: str
    wall_s: float
    cpu_s: float
    cpu_cores_requested: int
    cpu_efficiency: float | None
    idle_core_s: float
    peak_memory_bytes: int
    memory_bytes_requested: int
    memory_efficiency: float | None


@dataclass(frozen=True, slots=True)
class WorkflowEfficiency:
    """A run's tasks together.

    Attributes:
        workflow_id: the run.
        tasks: how many tasks it counts.
        cpu_s: CPU seconds they used.
        core_s_requested: cores times run time they held.
        cpu_efficiency: ``cpu_s / core_s_requested``; None without any run time.
        peak_memory_bytes: the sum of their peaks.
        memory_bytes_requested: the sum of what they asked for, over tasks that asked.
        memory_efficiency: peaks over requests of the tasks that asked; None if none did.
    """

    workflow_id: str
    tasks: int
    cpu_s: float
    core_s_requested: float
    cpu_efficiency: float | None
    peak_memory_bytes: int
    memory_bytes_requested: int
    memory_efficiency: float | None


def task_efficiency(workflow_id: str, attempts: Iterable[AttemptLog]) -> list[TaskEfficiency]:
    """Each task's efficiency, by its last successful attempt (else its last), by task id."""
    chosen: dict[str, AttemptLog] = {}
    for log in sorted(attempts, key=lambda a: (a.task_id, a.attempt)):
        kept = chosen.get(log.task_id)
        if kept is None or log.ok or not kept.ok:
            chosen[log.task_id] = log
    out = []
    for log in chosen.values():
        wall_s = max(0.0, log.finished_s - log.started_s)
        core_s = log.cpu_cores_requested * wall_s
        out.append(
            TaskEfficiency(
                workflow_id=workflow_id,
                task_id=log.task_id,
                attempt=log.attempt,
                node=log.node_id,
                wall_s=wall_s,
                cpu_s=log.cpu_s,
                cpu_cores_requested=log.cpu_cores_requested,
                cpu_efficiency=_ratio(log.cpu_s, core_s),
                idle_core_s=max(0.0, core_s - log.cpu_s),
                peak_memory_bytes=log.peak_memory_bytes,
                memory_bytes_requested=log.memory_bytes_requested,
                memory_efficiency=_ratio(log.peak_memory_bytes, log.memory_bytes_requested),
            )
        )
    return out


def workflow_efficiency(workflow_id: str, tasks: Sequence[TaskEfficiency]) -> WorkflowEfficiency:
    """The run's totals over its tasks."""
    cpu_s = sum(t.cpu_s for t in tasks)
    core_s = sum(t.cpu_cores_requested * t.wall_s for t in tasks)
    asked = [t for t in tasks if t.memory_bytes_requested > 0]
    peak_asked = sum(t.peak_memory_bytes for t in asked)
    requested = sum(t.memory_bytes_requested for t in asked)
    return WorkflowEfficiency(
        workflow_id=workflow_id,
        tasks=len(tasks),
        cpu_s=cpu_s,
        core_s_requested=core_s,
        cpu_efficiency=_ratio(cpu_s, core_s),
        peak_memory_bytes=sum(t.peak_memory_bytes for t in tasks),
        memory_bytes_requested=requested,
        memory_efficiency=_ratio(peak_asked, requested),
    )


def most_over_requested(tasks: Iterable[TaskEfficiency], limit: int) -> list[TaskEfficiency]:
    """The tasks that held the most cores idle, then left the most asked-for memory unused."""

    def waste(t: TaskEfficiency) -> tuple[float, int]:
        unused = max(0, t.memory_bytes_requested - t.peak_memory_bytes)
        return (t.idle_core_s, unused if t.memory_bytes_requested else 0)

    return sorted(tasks, key=lambda t: (*(-w for w in waste(t)), t.workflow_id, t.task_id))[:limit]
