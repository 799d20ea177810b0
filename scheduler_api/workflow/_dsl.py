"""Decorators and futures: calling a task records it in the current workflow and returns futures.

Nothing runs at call time; ``wait_on`` hands the recorded graph to the session, which validates
it, places it and runs it.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar

from scheduler_api.placement import Requirements

__all__ = [
    "Dataset",
    "Future",
    "TaskCall",
    "TaskFunction",
    "WorkflowError",
    "constraint",
    "depends",
    "parse_size",
    "task",
]

P = ParamSpec("P")
R = TypeVar("R")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# Bytes a result is assumed to weigh when sent to a child, when the task does not say.
DEFAULT_OUTPUT_BYTES = 1024


class WorkflowError(Exception):
    """A workflow cannot run: a cycle, a constraint no node meets, or a task that gave up."""


def parse_size(value: int | str) -> int:
    """Bytes from ``2G``, ``512M``, ``1.5GiB``, ``4096`` (binary multiples).

    Raises:
        ValueError: Not a size; the message says what is accepted.
    """
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must be >= 0, got {value}")
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"bad size {value!r}: use bytes or a number with K, M, G, T (e.g. 2G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset parameter: pass it to a task so placement counts the cost of reading it.

    Attributes:
        dataset_id: The id in the data-location catalogue.
        size_bytes: Bytes the task reads.
        nodes: Nodes holding a copy (empty: outside the fleet).
        path: Where the task finds it (opaque to the scheduler).
    """

    dataset_id: str
    size_bytes: int = 0
    nodes: tuple[str, ...] = ()
    path: str = ""


@dataclass(slots=True)
class TaskCall:
    """One recorded call of a task."""

    call_id: str
    function: TaskFunction[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    parents: dict[str, None] = field(default_factory=dict)
    datasets: tuple[Dataset, ...] = ()
    submitted: bool = False


class Future:
    """The promise of a task's result (or one item of it when the task returns several)."""

    __slots__ = ("_item", "_session", "call_id")

    def __init__(self, call_id: str, session: Any, item: int | None = None) -> None:
        self.call_id = call_id
        self._item = item
        self._session = session

    def resolve(self, value: Any) -> Any:
        """Pick this future's part of the task's whole result."""
        return value if self._item is None else value[self._item]

    def __repr__(self) -> str:
        part = "" if self._item is None else f"[{self._item}]"
        return f"<Future {self.call_id}{part}>"

    def __getstate__(self) -> None:
        raise TypeError("a Future cannot be sent to a worker: pass it to a task or wait_on it")


def _scan(value: Any) -> Iterator[Any]:
    """Futures and datasets inside an argument (and inside lists, tuples, sets, dicts)."""
    if isinstance(value, Future | Dataset):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _scan(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _scan(item)


class TaskFunction(Generic[P, R]):
    """A function turned into a workflow task by ``@task``."""

    def __init__(self, function: Callable[P, R], returns: int, work_s: float, output_bytes: int):
        functools.update_wrapper(self, function)
        self.function = function
        self.returns = returns
        self.work_s = work_s
        self.output_bytes = output_bytes
        self.requirements = Requirements()
        self.after: tuple[TaskFunction[..., Any], ...] = ()
        self.key = f"{function.__module__}:{function.__qualname__}"

    @property
    def name(self) -> str:
        return self.function.__name__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        from scheduler_api.workflow._session import current_session

        session = current_session()
        call = TaskCall(session.new_call_id(self.name), self, args, dict(kwargs))
        found = [*_scan(args), *_scan(kwargs)]
        call.parents = {f.call_id: None for f in found if isinstance(f, Future)}
        call.datasets = tuple(d for d in found if isinstance(d, Dataset))
        session.record(call)
        if self.returns <= 1:
            return Future(call.call_id, session)
        return tuple(Future(call.call_id, session, item) for item in range(self.returns))

    def __reduce__(self) -> tuple[Any, ...]:
        # By reference: workers find the task by module and name (forked workers already have
        # the workflow's module, even a script run as __main__).
        return (_resolve_task, (self.function.__module__, self.function.__qualname__))

    def run_inline(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain function (workers do this with resolved arguments)."""
        return self.function(*args, **kwargs)


def _resolve_task(module_name: str, qualname: str) -> TaskFunction[..., Any]:
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part)
    if not isinstance(found, TaskFunction):
        raise TypeError(f"{module_name}.{qualname} is not a @task")
    return found


def task(
    returns: int = 1, *, work_s: float = 1.0, output_bytes: int | str = DEFAULT_OUTPUT_BYTES
) -> Callable[[Callable[P, R]], TaskFunction[P, R]]:
    """Make a function a workflow task: calls record it and return futures.

    Args:
        returns: How many results the function returns; above 1 a call returns that many
            futures (the function returns a tuple).
        work_s: Estimated run time on a reference node, for ordering and placement.
        output_bytes: Size of the result sent to children (``"64M"`` works too).
    """
    if returns < 0:
        raise ValueError("returns must be >= 0")
    size = parse_size(output_bytes)

    def wrap(function: Callable[P, R]) -> TaskFunction[P, R]:
        return TaskFunction(function, returns, work_s, size)

    return wrap


def constraint(
    *,
    cpu_cores: int = 1,
    memory: int | str = 0,
    gpu: int = 0,
    tier: str | None = None,
    site: str | None = None,
    arch: str | None = None,
    **labels: str,
) -> Callable[[TaskFunction[P, R]], TaskFunction[P, R]]:
    """Hard constraints for a task; put it above ``@task``.

    Args:
        cpu_cores: Cores the task keeps busy.
        memory: Memory it needs (bytes or ``"2G"``).
        gpu: GPUs it needs.
        tier: ``edge``, ``cloud`` or ``hpc``.
        site: Required site.
        arch: Required architecture (``amd64``, ``arm64``).
        labels: Node labels that must match.
    """
    requirements = Requirements(
        cpu_cores=cpu_cores,
        memory_bytes=parse_size(memory),
        gpus=gpu,
        tier=tier,
        site=site,
        arch=arch,
        labels=tuple(sorted(labels.items())),
    )

    def apply(function: TaskFunction[P, R]) -> TaskFunction[P, R]:
        if not isinstance(function, TaskFunction):
            raise TypeError("@constraint goes above @task")
        function.requirements = requirements
        return function

    return apply


def depends(
    *tasks: TaskFunction[..., Any],
) -> Callable[[TaskFunction[P, R]], TaskFunction[P, R]]:
    """Explicit edges: every call of the decorated task runs after all earlier calls of ``tasks``.

    For order that no future shows (a file one task writes and another reads).
    """

    def apply(function: TaskFunction[P, R]) -> TaskFunction[P, R]:
        if not isinstance(function, TaskFunction):
            raise TypeError("@depends goes above @task")
        function.after = tuple(tasks)
        return function

    return apply
