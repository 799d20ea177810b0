"""The one task-event record (``scheduler_api.workflow._events.TaskEvent``), as executors make it.

Every executor ends an attempt with the same record: the pull worker sends it over Kafka, and
the local and Ray executors build it in their worker processes from the same measurements
(``measuring`` and ``LogCapture``)::

    key = RecordKey(workflow="run-1f", task="square-3", attempt=1, node="edge-1")
    record = ended_record(ok, value, error, started_s, finished_s, output, usage, **key._asdict())
    completion_of(record)        # the Completion a session consumes

The record module is imported when a record is made, not with this package: the workflow
package imports the executors, and the record lives beside the workflow's other wire types.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, NamedTuple

from scheduler_api.executors._base import Completion
from scheduler_api.executors._capture import TaskOutput
from scheduler_api.executors._usage import TaskUsage

if TYPE_CHECKING:
    from scheduler_api.workflow._events import TaskEvent

__all__ = ["RecordKey", "RunRecords", "completion_of", "ended_record", "started_record"]


class RecordKey(NamedTuple):
    """Which attempt a record is of (what a worker is told with the task)."""

    workflow: str
    task: str
    attempt: int
    node: str


def ended_record(
    ok: bool,
    value: Any,
    error: str,
    started_s: float,
    finished_s: float,
    output: TaskOutput,
    usage: TaskUsage,
    *,
    workflow: str,
    task: str,
    attempt: int,
    node: str,
) -> TaskEvent:
    """The ``finished`` or ``failed`` record of an attempt, from what its worker measured."""
    from scheduler_api.workflow._events import TaskEvent

    return TaskEvent(
        "finished" if ok else "failed",
        workflow,
        task,
        attempt,
        node,
        at_s=finished_s,
        started_s=started_s,
        wall_s=max(0.0, finished_s - started_s),
        cpu_s=usage.cpu_s,
        peak_memory_bytes=usage.peak_memory_bytes,
        read_bytes=usage.read_bytes,
        written_bytes=usage.written_bytes,
        error=error,
        value=value if ok else None,
        stdout=output.stdout,
        stderr=output.stderr,
        stdout_dropped_bytes=output.stdout_dropped_bytes,
        stderr_dropped_bytes=output.stderr_dropped_bytes,
    )


def started_record(ended: TaskEvent) -> TaskEvent:
    """The ``started`` record of an ended attempt (for executors that learn the start at the
    end: a process pool's worker says when it began only when it returns)."""
    from scheduler_api.workflow._events import TaskEvent

    return TaskEvent(
        "started",
        ended.workflow,
        ended.task,
        ended.attempt,
        ended.node,
        at_s=ended.started_s,
        started_s=ended.started_s,
    )


def completion_of(record: TaskEvent) -> Completion:
    """The session's view of an ended attempt's record."""
    return Completion(
        record.task,
        record.node,
        record.kind == "finished",
        record.value,
        record.error,
        record.started_s,
        record.at_s,
        record=record,
    )


class RunRecords:
    """What every executor keeps of a run, the same way: the run's id on its records, each
    task's attempt count, and every task-event record in order (``events``)."""

    def __init__(self, workflow_id: str | None = None) -> None:
        self.workflow_id = workflow_id or f"run-{secrets.token_hex(6)}"
        #: Every task-event record of this run (started, then finished or failed, per attempt).
        self.events: list[TaskEvent] = []
        self._attempts: dict[str, int] = {}

    def next_key(self, task_id: str, node_id: str) -> RecordKey:
        """The key of the next attempt of ``task_id``, on ``node_id`` (attempts count from 1)."""
        attempt = self._attempts.get(task_id, 0) + 1
        self._attempts[task_id] = attempt
        return RecordKey(self.workflow_id, task_id, attempt, node_id)

    def returned(self, record: TaskEvent) -> Completion:
        """The completion of an attempt whose worker returned its ended record: its started
        and ended records land now, since a pool's worker says when it began only then."""
        self.events += [started_record(record), record]
        return completion_of(record)
