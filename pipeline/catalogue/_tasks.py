"""Series of workflow tasks, as ``continuum run`` records each finished attempt.

They are recorded through the agents' Kafka path (``continuum.otel``) with the node the
attempt ran on as the resource, so ``node`` is the node's own label and ``workflow`` and ``task``
join them with the node's and the containers' series::

    sum by (node) (rate(continuum_task_cpu_time_seconds_total{workflow="3f2a..."}[5m]))
    sum by (task) (rate(continuum_task_duration_seconds_sum[1h]))
      / sum by (task) (rate(continuum_task_duration_seconds_count[1h]))
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

#: Labels of every task series: the workflow run and the task's name.
TASK_LABELS: tuple[str, ...] = ("workflow", "task")

TASK_SERIES: tuple[Series, ...] = (
    Series(
        "continuum_task_duration_seconds",
        SeriesType.HISTOGRAM,
        "seconds",
        "Wall time of each finished task attempt, by workflow run and task name.",
        (*TASK_LABELS, "outcome"),
        "continuum.task.duration",
        source="tasks",
    ),
    Series(
        "continuum_task_cpu_time_seconds_total",
        SeriesType.COUNTER,
        "seconds",
        "CPU time task attempts used (the task and its children), by workflow run and task.",
        TASK_LABELS,
        "continuum.task.cpu.time",
        source="tasks",
    ),
    Series(
        "continuum_task_io_bytes_total",
        SeriesType.COUNTER,
        "bytes",
        "Bytes task attempts read and wrote, by workflow run, task and direction.",
        (*TASK_LABELS, "disk_io_direction"),
        "continuum.task.io",
        source="tasks",
    ),
)
