"""Task logs: each attempt's stdout and stderr, kept with its outcome beside the placement history.

Executors capture the output (``scheduler_api.executors.LogCapture``); a
:class:`LogRecordingExecutor` around one numbers the attempts and hands each to a sink
(``continuum run`` sends them to the API); the API keeps the last ``attempts_kept`` attempts of
each task in :class:`TaskLogStore`, with the failure reason of a failed one::

    store = TaskLogStore(db, TaskLogSettings())
    store.add(run_id, AttemptLog("square-1", 1, "edge-1", ok=False, error="ValueError: ..."))
    store.get(run_id, "square-1")[0].stderr
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from scheduler_api._settings import TaskLogSettings
from scheduler_api._store import Database
from scheduler_api.executors import (
    Completion,
    Executor,
    LogCapture,
    bound_text,
    secret_values,
)
from scheduler_api.placement import NodeInfo, Requirements

__all__ = [
    "AttemptLog",
    "LogRecordingExecutor",
    "TaskLogStore",
    "attempt_log",
    "log_capture",
]

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS task_attempts (
        workflow_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        node_id TEXT NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT NOT NULL,
        started_s REAL NOT NULL,
        finished_s REAL NOT NULL,
        stdout TEXT NOT NULL,
        stderr TEXT NOT NULL,
        stdout_dropped_bytes INTEGER NOT NULL,
        stderr_dropped_bytes INTEGER NOT NULL,
        cpu_s REAL NOT NULL,
        peak_memory_bytes INTEGER NOT NULL,
        cpu_cores_requested INTEGER NOT NULL,
        memory_bytes_requested INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, task_id, attempt)
    )
    """,
)


def log_capture(settings: TaskLogSettings) -> LogCapture:
    """The executors' capture settings for ``api.task_logs``."""
    return LogCapture(settings.max_bytes_per_stream, tuple(settings.redact_env))


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """One attempt of a task: where it ran, how it ended, what it wrote, what it used against
    what it asked for (``cpu_s`` and ``peak_memory_bytes`` are 0 where not measured)."""

    task_id: str
    attempt: int
    node_id: str
    ok: bool
    error: str = ""
    started_s: float = 0.0
    finished_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    stdout_dropped_bytes: int = 0
    stderr_dropped_bytes: int = 0
    cpu_s: float = 0.0
    peak_memory_bytes: int = 0
    cpu_cores_requested: int = 1
    memory_bytes_requested: int = 0


_COLUMNS = tuple(f.name for f in fields(AttemptLog))
# Built once from the record's own field names (no outside input reaches it).
_INSERT = (
    f"INSERT OR REPLACE INTO task_attempts (workflow_id, {', '.join(_COLUMNS)})"  # noqa: S608
    f" VALUES (?{', ?' * len(_COLUMNS)})"
)


class TaskLogStore:
    """The last attempts of every task of every workflow run, in the API's database.

    Args:
        db: the API's database.
        settings: bounds and redaction applied to what is stored.
    """

    def __init__(self, db: Database, settings: TaskLogSettings) -> None:
        self._db = db
        self._settings = settings
        db.ensure_schema(*_SCHEMA)

    def add(self, workflow_id: str, log: AttemptLog) -> AttemptLog:
        """Store an attempt (replacing one of the same number), drop the oldest beyond the
        number kept, and return it as stored (bounded and redacted again: clients may be
        configured differently)."""
        log = self._bounded(log)
        with self._db.transaction() as conn:
            conn.execute(_INSERT, (workflow_id, *(getattr(log, name) for name in _COLUMNS)))
            conn.execute(
                "DELETE FROM task_attempts WHERE workflow_id = ? AND task_id = ? AND attempt NOT IN"
                " (SELECT attempt FROM task_attempts WHERE workflow_id = ? AND task_id = ?"
                "  ORDER BY attempt DESC LIMIT ?)",
                (workflow_id, log.task_id, workflow_id, log.task_id, self._settings.attempts_kept),
            )
        return log

    def get(self, workflow_id: str, task_id: str | None = None) -> list[AttemptLog]:
        """Kept attempts of one task (or of every task), by task then attempt."""
        if task_id is None:
            rows = self._db.query(
                "SELECT * FROM task_attempts WHERE workflow_id = ? ORDER BY task_id, attempt",
                (workflow_id,),
            )
        else:
            rows = self._db.query(
                "SELECT * FROM task_attempts WHERE workflow_id = ? AND task_id = ?"
                " ORDER BY attempt",
                (workflow_id, task_id),
            )
        return [_attempt(row) for row in rows]

    def _bounded(self, log: AttemptLog) -> AttemptLog:
        limit = self._settings.max_bytes_per_stream
        secrets = secret_values(self._settings.redact_env)

        def bound(text: str, stream: str) -> tuple[str, int]:
            raw = text.encode("utf-8")
            return bound_text(raw, len(raw), stream, limit, secrets)

        stdout, stdout_dropped = bound(log.stdout, "stdout")
        stderr, stderr_dropped = bound(log.stderr, "stderr")
        return replace(
            log,
            error=bound(log.error, "the failure reason")[0],
            stdout=stdout,
            stderr=stderr,
            stdout_dropped_bytes=log.stdout_dropped_bytes + stdout_dropped,
            stderr_dropped_bytes=log.stderr_dropped_bytes + stderr_dropped,
        )


def _attempt(row: Any) -> AttemptLog:
    values = {name: row[name] for name in _COLUMNS}
    values["ok"] = bool(values["ok"])
    return AttemptLog(**values)


class LogRecordingExecutor:
    """An executor that hands every ended attempt's log to ``sink``, numbered per task.

    Args:
        inner: the executor that runs the tasks.
        sink: called with each :class:`AttemptLog` (it must not raise).
    """

    def __init__(self, inner: Executor, sink: Callable[[AttemptLog], None]) -> None:
        self.inner = inner
        self.name = inner.name
        self._sink = sink
        self._attempts: dict[str, int] = {}
        self._asked: dict[str, Requirements] = {}

    def nodes(self) -> list[NodeInfo]:
        return self.inner.nodes()

    def submit(
        self,
        task_id: str,
        node_id: str,
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self._attempts[task_id] = self._attempts.get(task_id, 0) + 1
        self._asked[task_id] = getattr(function, "requirements", None) or Requirements()
        self.inner.submit(task_id, node_id, function, args, kwargs)

    def wait(self, timeout_s: float) -> list[Completion]:
        done = self.inner.wait(timeout_s)
        for completion in done:
            attempt = self._attempts.get(completion.task_id, 1)
            asked = self._asked.get(completion.task_id) or Requirements()
            self._sink(attempt_log(completion, attempt, asked))
        return done

    def close(self) -> None:
        self.inner.close()


def attempt_log(
    completion: Completion, attempt: int, asked: Requirements | None = None
) -> AttemptLog:
    """The record of an ended attempt; ``asked`` is what the task requested."""
    asked = asked or Requirements()
    output, usage = completion.output, completion.usage
    return AttemptLog(
        task_id=completion.task_id,
        attempt=attempt,
        node_id=completion.node_id,
        ok=completion.ok,
        error=completion.error,
        started_s=completion.started_s,
        finished_s=completion.finished_s,
        stdout=output.stdout,
        stderr=output.stderr,
        stdout_dropped_bytes=output.stdout_dropped_bytes,
        stderr_dropped_bytes=output.stderr_dropped_bytes,
        cpu_s=usage.cpu_s,
        peak_memory_bytes=usage.peak_memory_bytes,
        cpu_cores_requested=asked.lanes,
        memory_bytes_requested=asked.memory_bytes,
    )
