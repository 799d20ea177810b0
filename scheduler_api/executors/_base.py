"""What a workflow session needs from an executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler_api.executors._capture import TaskOutput
from scheduler_api.executors._usage import TaskUsage
from scheduler_api.placement import NodeInfo

__all__ = ["Completion", "Executor"]


@dataclass(frozen=True, slots=True)
class Completion:
    """A task attempt that ended.

    Attributes:
        task_id: The task.
        node_id: Where it ran.
        ok: Whether it returned.
        value: Its result when ``ok``.
        error: The error text when not ``ok``.
        started_s: Unix time the worker began.
        finished_s: Unix time the worker ended.
        output: What the attempt wrote to stdout and stderr (bounded, redacted).
        usage: What it used where it ran (CPU seconds, bytes, peak memory), when measured.
    """

    task_id: str
    node_id: str
    ok: bool
    value: Any
    error: str
    started_s: float
    finished_s: float
    output: TaskOutput = field(default_factory=TaskOutput)
    usage: TaskUsage = field(default_factory=TaskUsage)


class Executor(Protocol):
    """Runs task functions on named nodes."""

    name: str

    def nodes(self) -> list[NodeInfo]:
        """The nodes this executor can run on, as the engine should see them."""
        ...

    def submit(
        self,
        task_id: str,
        node_id: str,
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Start ``function(*args, **kwargs)`` on ``node_id`` (queued if the node is busy)."""
        ...

    def wait(self, timeout_s: float) -> list[Completion]:
        """Attempts that ended, waiting up to ``timeout_s`` for at least one."""
        ...

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        ...
