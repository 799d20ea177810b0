"""What a workflow session needs from an executor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from scheduler_api.executors._capture import TaskOutput
from scheduler_api.executors._usage import TaskUsage
from scheduler_api.placement import NodeInfo

if TYPE_CHECKING:
    from scheduler_api.workflow._events import TaskEvent

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
        record: The attempt's task-event record (``finished`` or ``failed``), which every
            executor makes the same way: what it used and wrote. None where the attempt never
            reported (its worker died, its node went silent).
    """

    task_id: str
    node_id: str
    ok: bool
    value: Any
    error: str
    started_s: float
    finished_s: float
    record: TaskEvent | None = None

    @property
    def output(self) -> TaskOutput:
        """What the attempt wrote to stdout and stderr (bounded, redacted); empty if unknown."""
        r = self.record
        if r is None:
            return TaskOutput()
        return TaskOutput(r.stdout, r.stderr, r.stdout_dropped_bytes, r.stderr_dropped_bytes)

    @property
    def usage(self) -> TaskUsage:
        """What it used where it ran (CPU seconds, bytes, peak memory); zeros if unmeasured."""
        r = self.record
        if r is None:
            return TaskUsage()
        return TaskUsage(r.cpu_s, r.read_bytes, r.written_bytes, r.peak_memory_bytes)


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
