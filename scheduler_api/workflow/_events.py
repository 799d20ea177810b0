"""The task-event record: what happened to one attempt of one task, on which node, at what cost.

It is the project's one record of task execution, whichever executor ran the attempt.
Pull-mode workers send it over Kafka (topic ``TASK_EVENTS_TOPIC``, key = workflow id) and the
``pull`` executor reads it back; the ``local`` and ``ray`` executors build the same record in
their workers (``scheduler_api.executors.Completion.record``); history, learned costs and
efficiency figures read its fields::

    event = TaskEvent.started(workflow="wf-1", task="square-3", attempt=1, node="edge-1")
    raw = event.encode()                   # JSON bytes
    TaskEvent.decode(raw) == event         # True

The dispatch record a worker receives, ``Assignment``, lives here too (topic
``assignments_topic(node)``), so both ends of the wire share one definition. Both are plain JSON,
stdlib only, so a worker on a small node pays nothing for them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = [
    "ASSIGNMENTS_TOPIC_PREFIX",
    "HEARTBEATS_TOPIC",
    "TASK_EVENTS_TOPIC",
    "Assignment",
    "EventError",
    "TaskEvent",
    "WorkerHeartbeat",
    "assignments_topic",
]

TASK_EVENTS_TOPIC = "continuum.task_events"
HEARTBEATS_TOPIC = "continuum.worker_heartbeats"
ASSIGNMENTS_TOPIC_PREFIX = "continuum.tasks."
EventKind = Literal["started", "finished", "failed"]
_KINDS = ("started", "finished", "failed")


class EventError(ValueError):
    """A record on the wire is not valid JSON of the expected shape."""


def assignments_topic(node: str) -> str:
    """The topic a node's worker takes its assignments from (one per node: no filtering)."""
    return ASSIGNMENTS_TOPIC_PREFIX + node


def _decode(cls: type[Any], raw: bytes) -> Any:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise EventError(f"not JSON: {err}") from err
    if not isinstance(body, dict):
        raise EventError("not a JSON object")
    # Fields this release does not know are a newer sender's: skipped, as a protobuf reader
    # skips unknown tags, so workers and executors of two releases work together while a
    # fleet is upgraded.
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in body.items() if k in names})
    except TypeError as err:
        raise EventError(str(err)) from err


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One attempt's start, finish or failure.

    Attributes:
        kind: ``started``, ``finished`` or ``failed``.
        workflow: the run's id.
        task: the task's id within the run.
        attempt: 1 for the first run, counting re-placements and retries.
        node: where it ran.
        at_s: Unix time of the event.
        started_s: Unix time the attempt began (equal to ``at_s`` on ``started``).
        wall_s: elapsed seconds (0 on ``started``).
        cpu_s: user plus system CPU seconds of the task and its children.
        peak_memory_bytes: the largest resident set the task reached.
        read_bytes: bytes the task read (``rchar`` of ``/proc/<pid>/io``).
        written_bytes: bytes the task wrote (``wchar``).
        error: why it failed (empty otherwise).
        value: the task's JSON result on ``finished`` (None otherwise).
        stdout: the tail of what the attempt wrote to standard output (bounded, redacted).
        stderr: the same for standard error.
        stdout_dropped_bytes: bytes of standard output dropped from the start.
        stderr_dropped_bytes: the same for standard error.
        fetched_bytes: bytes of input datasets the worker fetched from peers or a store before
            the attempt (0: none, or every input already on the node).
        published_bytes: bytes of output datasets the worker put in a store after it.
    """

    kind: EventKind
    workflow: str
    task: str
    attempt: int
    node: str
    at_s: float
    started_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_memory_bytes: int = 0
    read_bytes: int = 0
    written_bytes: int = 0
    error: str = ""
    value: Any = None
    stdout: str = ""
    stderr: str = ""
    stdout_dropped_bytes: int = 0
    stderr_dropped_bytes: int = 0
    fetched_bytes: int = 0
    published_bytes: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise EventError(f"kind: {self.kind!r} is not one of {', '.join(_KINDS)}")

    @classmethod
    def started(cls, *, workflow: str, task: str, attempt: int, node: str) -> TaskEvent:
        now = time.time()
        return cls("started", workflow, task, attempt, node, at_s=now, started_s=now)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> TaskEvent:
        """Parse one record.

        Raises:
            EventError: not JSON, a field missing or mistyped, or a wrong kind.
        """
        event: TaskEvent = _decode(cls, raw)
        return event


@dataclass(frozen=True, slots=True)
class Assignment:
    """A task sent to a node's worker.

    A task is either a command (``argv``) or an importable Python function: ``module`` (or
    ``file``, for a workflow script) and ``function`` (its qualified name), called with the JSON
    ``args`` and ``kwargs``. The worker keeps the last ``max_output_bytes`` of each of the
    attempt's output streams, with the values of the environment variables ``redact_env``
    names (as the worker sees them) replaced by ``[REDACTED]``.
    """

    workflow: str
    task: str
    attempt: int
    node: str
    argv: list[str] = field(default_factory=list)
    module: str = ""
    file: str = ""
    function: str = ""
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 3600.0
    max_output_bytes: int = 64 << 10
    redact_env: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if bool(self.argv) == bool(self.function):
            raise EventError("an assignment runs either argv or a function, exactly one")
        if self.function and not (self.module or self.file):
            raise EventError("a function assignment needs its module or file")

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Assignment:
        """Parse one record.

        Raises:
            EventError: not JSON, a field missing, or neither/both of argv and function.
        """
        assignment: Assignment = _decode(cls, raw)
        return assignment


@dataclass(frozen=True, slots=True)
class WorkerHeartbeat:
    """A worker saying it is alive, with the tasks it is running (``workflow/task/attempt``)
    and the base URL where it serves its node's datasets to peers ("" when it serves none)."""

    node: str
    at_s: float
    running: list[str] = field(default_factory=list)
    data_url: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.data_url, str):
            raise EventError(f"data_url: {self.data_url!r} is not a string")

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> WorkerHeartbeat:
        """Parse one record.

        Raises:
            EventError: not JSON or a field missing.
        """
        beat: WorkerHeartbeat = _decode(cls, raw)
        return beat
