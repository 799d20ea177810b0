"""Decorators and futures: calling a task records it in the current workflow and returns futures.

Nothing runs at call time; ``wait_on`` hands the recorded graph to the session, which validates
it, places it and runs it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, cast, get_args

from scheduler_api._datasets import StorageKind
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
    "storage",
    "task",
]

P = ParamSpec("P")
R = TypeVar("R")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# Bytes a result is assumed to weigh when sent to a child, when the task does not say.
DEFAULT_OUTPUT_BYTES = 1024
# PyCOMPSs gives memory_size and storage_size as plain numbers of gigabytes.
_COMPSS_SIZE_UNIT = "G"
# Architecture names users write (PyCOMPSs passes uname's) -> the OTel host.arch the agents report.
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armv8": "arm64"}


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
        storage: Where the copies are held: in the ``memory`` or on the ``disk`` of ``nodes``,
            or in an ``object`` store of ``sites`` (as the dataset catalogue records it); a task's
            ``@storage`` hint prefers nodes holding its data in the kind it names.
        sites: Sites whose object store holds a copy.
        urls: Where a pull-mode worker can fetch a copy (a peer's or a store's data server);
            the pull executor fills them in from the data catalogue and the workers' offers.

    Under the pull executor a task is given each dataset with ``path`` set to the local copy
    its worker fetched (or already held), and a task that writes a file and returns
    ``Dataset(id, path=that_file)`` publishes it: its worker keeps it for peers (or puts it in
    the store, behind NAT) and the dataset that comes back names where it now is.
    """

    dataset_id: str
    size_bytes: int = 0
    nodes: tuple[str, ...] = ()
    path: str = ""
    storage: StorageKind = "disk"
    sites: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()


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

    def __init__(
        self, function: Callable[P, R], returns: int, work_s: float | None, output_bytes: int
    ):
        functools.update_wrapper(self, function)
        self.function = function
        self.returns = returns
        # None: the task declares no run time, so the session learns or defaults one.
        self.work_s = work_s
        self.output_bytes = output_bytes
        # Hard constraints (@constraint) and the storage hint (@storage), as submitted.
        self.requirements = Requirements()
        self.network = False
        # Seconds after the run starts (the session's clock).
        self.not_before_s: float | None = None
        self.deadline_s: float | None = None
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


def _result_count(returns: object) -> int:
    """How many futures a call returns, from the forms PyCOMPSs accepts for ``returns``."""
    if isinstance(returns, int) and not isinstance(returns, bool):
        if returns < 0:
            raise ValueError(f"returns must be >= 0, got {returns}")
        return returns
    if returns is None or isinstance(returns, type):
        return 1  # one result of that type (None: the function returns nothing)
    if isinstance(returns, tuple | list) and all(isinstance(item, type) for item in returns):
        return len(returns)  # one future per listed type
    raise TypeError(
        f"returns={returns!r}: give a count (returns=2), a type (returns=int) "
        "or a tuple of types (returns=(int, str))"
    )


def task(
    returns: int | type | tuple[type, ...] | list[type] | None = 1,
    *,
    work_s: float | None = None,
    output_bytes: int | str = DEFAULT_OUTPUT_BYTES,
) -> Callable[[Callable[P, R]], TaskFunction[P, R]]:
    """Make a function a workflow task: calls record it and return futures.

    Args:
        returns: What the function returns, as PyCOMPSs writes it: a count (``2``: a call
            returns that many futures, the function a tuple), a type (``int``: one future) or
            a tuple of types (one future each).
        work_s: Estimated run time on a reference node, for ordering and placement. Left out,
            the session learns it from earlier runs of the task (placement history), else
            assumes one second.
        output_bytes: Size of the result sent to children (``"64M"`` works too).

    Raises:
        TypeError: ``returns`` is none of those forms.
        ValueError: A negative count or work, or a bad size.
    """
    count = _result_count(returns)
    if work_s is not None and work_s < 0:
        raise ValueError(f"work_s must be >= 0, got {work_s}")
    size = parse_size(output_bytes)

    def wrap(function: Callable[P, R]) -> TaskFunction[P, R]:
        return TaskFunction(function, count, work_s, size)

    return wrap


def _compss_size(value: int | float | str) -> int:
    """Bytes from a PyCOMPSs size: a plain number (or numeric text) is gigabytes."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"size must be >= 0, got {value}")
        return int(value * parse_size(f"1{_COMPSS_SIZE_UNIT}"))
    text = str(value).strip()
    try:
        return _compss_size(float(text))
    except ValueError:
        return parse_size(text)  # "2G": a unit given explicitly


def _count(key: str, value: int | str) -> int:
    """Cores or GPUs from an int or numeric text (PyCOMPSs passes ``computing_units="2"``)."""
    try:
        number = int(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"@constraint {key}={value!r}: give a whole number") from err
    if isinstance(value, bool) or number < 0 or number != float(value):
        raise ValueError(f"@constraint {key}={value!r}: give a whole number >= 0")
    return number


def _cores(key: str, value: float | str) -> float:
    """Cores from a number or numeric text; a fraction is a share of a core (an edge task's
    half core), as requests are in Kubernetes."""
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"@constraint {key}={value!r}: give a number of cores") from err
    if isinstance(value, bool) or not number > 0 or number != number or number == float("inf"):
        raise ValueError(f"@constraint {key}={value!r}: give a number of cores > 0")
    return number


def _one_of(first: tuple[str, object], second: tuple[str, object]) -> tuple[str, object]:
    """The name and value of whichever of two synonyms was given (value None for neither)."""
    if first[1] is not None and second[1] is not None:
        raise TypeError(f"@constraint: give {first[0]} or {second[0]}, not both")
    return first if first[1] is not None else second


def constraint(
    *,
    cpu_cores: float | None = None,
    computing_units: int | str | None = None,
    memory: int | str | None = None,
    memory_size: int | float | str | None = None,
    disk: int | str | None = None,
    storage_size: int | float | str | None = None,
    gpu: int = 0,
    tier: str | None = None,
    site: str | None = None,
    arch: str | None = None,
    processor_architecture: str | None = None,
    network: bool = False,
    labels: Mapping[str, str] | None = None,
    max_utilization: float | None = None,
    not_before: float | None = None,
    deadline: float | None = None,
    **unknown: object,
) -> Callable[[TaskFunction[P, R]], TaskFunction[P, R]]:
    """Hard constraints for a task; put it above ``@task``.

    Both this DSL's names and PyCOMPSs's are accepted (one of each pair)::

        @constraint(cpu_cores=2, memory="2G", disk="10G", network=True)
        @constraint(computing_units="2", memory_size=2, storage_size=10,
                    processor_architecture="x86_64")

    Args:
        cpu_cores: Cores the task keeps busy (PyCOMPSs: ``computing_units``).
        memory: Memory it needs, bytes or ``"2G"`` (PyCOMPSs: ``memory_size``, in GB).
        disk: Disk space its data needs on the node, bytes or ``"10G"`` (PyCOMPSs:
            ``storage_size``, in GB).
        gpu: GPUs it needs.
        tier: ``edge``, ``cloud`` or ``hpc``.
        site: Required site.
        arch: Required architecture, ``amd64`` or ``arm64`` (PyCOMPSs:
            ``processor_architecture``; ``x86_64`` and ``aarch64`` are understood).
        network: The task needs network access beyond the fleet while it runs.
        labels: Node labels that must match, e.g. ``{"zone": "a"}``.
        max_utilization: Skip nodes whose 5-minute mean CPU use is above this fraction.
        not_before: Seconds after the run starts before which the task may not start.
        deadline: Seconds after the run starts by which the task must finish; a task no node
            can finish in time is abandoned with the reason, and a late finish is reported.

    Raises:
        TypeError: An unknown keyword (named, with the nearest known one), or both names of
            one constraint.
        ValueError: A value that is not a count or a size.
    """
    if unknown:
        raise TypeError("; ".join(_unknown_keyword(key) for key in sorted(unknown)))
    cores_key, cores = _one_of(("cpu_cores", cpu_cores), ("computing_units", computing_units))
    _, memory_value = _one_of(("memory", memory), ("memory_size", memory_size))
    _, disk_value = _one_of(("disk", disk), ("storage_size", storage_size))
    _, architecture = _one_of(("arch", arch), ("processor_architecture", processor_architecture))
    requirements = Requirements(
        cpu_cores=1 if cores is None else _cores(cores_key, cast(float | str, cores)),
        memory_bytes=_size(memory_value, memory_size is not None),
        gpus=_count("gpu", gpu),
        tier=tier,
        site=site,
        arch=None if architecture is None else _arch(str(architecture)),
        labels=dict(labels or {}),
        max_utilization=_fraction("max_utilization", max_utilization),
        disk_bytes=_size(disk_value, storage_size is not None),
    )
    window = (_seconds("not_before", not_before), _seconds("deadline", deadline))

    def apply(function: TaskFunction[P, R]) -> TaskFunction[P, R]:
        if not isinstance(function, TaskFunction):
            raise TypeError("@constraint goes above @task")
        # A storage hint applied first (written below @constraint) is kept.
        function.requirements = dataclasses.replace(
            requirements, storage=function.requirements.storage
        )
        function.network = bool(network)
        function.not_before_s, function.deadline_s = window
        return function

    return apply


def _fraction(key: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"@constraint({key}={value!r}): a fraction in (0, 1] is needed")
    return float(value)


def _seconds(key: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"@constraint({key}={value!r}): seconds after the run starts, >= 0")
    return float(value)


def _unknown_keyword(key: str) -> str:
    known = [
        name
        for name, parameter in inspect.signature(constraint).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    near = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"@constraint got an unknown keyword {key!r}{hint}; node labels go in labels={{...}}"


def _size(value: object, compss: bool) -> int:
    if value is None:
        return 0
    if compss:
        return _compss_size(cast(int | float | str, value))
    return parse_size(cast(int | str, value))


def _arch(name: str) -> str:
    lowered = name.strip().lower()
    return _ARCH_ALIASES.get(lowered, lowered)


def storage(kind: StorageKind) -> Callable[[TaskFunction[P, R]], TaskFunction[P, R]]:
    """Where the task would like its data held: ``"memory"``, ``"disk"`` or ``"object"``.

    A preference, not a constraint: placement favours nodes that keep the task's datasets in
    that kind of store (the dataset catalogue records each copy's kind). Put it above ``@task``.

    Raises:
        ValueError: Not one of the three kinds.
    """
    kinds = get_args(StorageKind)
    if kind not in kinds:
        raise ValueError(f"@storage({kind!r}): the kind is one of {', '.join(kinds)}")

    def apply(function: TaskFunction[P, R]) -> TaskFunction[P, R]:
        if not isinstance(function, TaskFunction):
            raise TypeError("@storage goes above @task")
        function.requirements = dataclasses.replace(function.requirements, storage=kind)
        return function

    return apply


def depends(
    *tasks: TaskFunction[..., Any],
) -> Callable[[TaskFunction[P, R]], TaskFunction[P, R]]:
    """Explicit edges: every call of the decorated task runs after all earlier calls of ``tasks``.

    For order that no future shows (a file one task writes and another reads).

    Raises:
        TypeError: Something other than a ``@task`` is named.
    """
    for before in tasks:
        if not isinstance(before, TaskFunction):
            raise TypeError(f"@depends takes @task functions, got {before!r}")

    def apply(function: TaskFunction[P, R]) -> TaskFunction[P, R]:
        if not isinstance(function, TaskFunction):
            raise TypeError("@depends goes above @task")
        function.after = tuple(tasks)
        return function

    return apply
