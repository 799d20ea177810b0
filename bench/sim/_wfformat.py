"""WfFormat reader: a WfCommons instance (JSON) to a typed, validated :class:`Workflow`.

Validation is offline against the WfFormat JSON schema that ships beside the instances
(``wfcommons-schema.json``); nothing is fetched.

Example::

    schema = load_schema(data_dir / "wfcommons-schema.json")
    wf = load_wfformat(data_dir / "montage-chameleon-2mass-01d-001.json", schema)
    print(wf.name, len(wf.tasks), wf.critical_path_s())

Errors::

    WfFormatError        the document is unreadable, fails the schema, or is not a DAG
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "SimFile",
    "SimTask",
    "WfFormatError",
    "Workflow",
    "load_schema",
    "load_wfformat",
    "parse_wfformat",
]

#: Memory request for a task whose instance does not record one (kube requests need a value).
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
#: Runtime floor: some traces record 0 s for bookkeeping tasks; a zero-length task is still a task.
_MIN_RUNTIME_S = 0.01


class WfFormatError(ValueError):
    """A WfFormat document that cannot be used, with where and why."""


@dataclass(frozen=True, slots=True)
class SimFile:
    """A file of the workflow.

    Attributes:
        id: Unique file id.
        size_bytes: Size in bytes.
    """

    id: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class SimTask:
    """A task, with what placement needs to know.

    Attributes:
        id: Unique task id.
        name: Task type (``mProject``, ``individuals``...).
        runtime_s: Runtime measured on the instance's reference machine.
        cores: Cores the task occupies while it runs.
        memory_bytes: Memory it requests.
        parents: Ids of the tasks it depends on.
        children: Ids of the tasks that depend on it.
        inputs: Ids of the files it reads.
        outputs: Ids of the files it writes.
    """

    id: str
    name: str
    runtime_s: float
    cores: int
    memory_bytes: int
    parents: tuple[str, ...]
    children: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Workflow:
    """A workflow instance: tasks in topological order, files, and the recorded makespan.

    Attributes:
        name: Instance name.
        tasks: Tasks by id, in a topological order (parents first).
        files: Files by id.
        recorded_makespan_s: Makespan recorded in the instance, when present.
    """

    name: str
    tasks: Mapping[str, SimTask]
    files: Mapping[str, SimFile]
    recorded_makespan_s: float | None = None
    _producer: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for task in self.tasks.values():
            for file_id in task.outputs:
                self._producer.setdefault(file_id, task.id)

    def producer(self, file_id: str) -> str | None:
        """Id of the task that writes ``file_id``, or None for a workflow input."""
        return self._producer.get(file_id)

    def input_bytes(self, task_id: str) -> int:
        """Total size of the files ``task_id`` reads."""
        return sum(self.files[f].size_bytes for f in self.tasks[task_id].inputs)

    def critical_path_s(self) -> float:
        """Length of the longest runtime chain (reference speed, no transfers)."""
        finish: dict[str, float] = {}
        for task in self.tasks.values():
            start = max((finish[p] for p in task.parents), default=0.0)
            finish[task.id] = start + task.runtime_s
        return max(finish.values(), default=0.0)

    def total_work_s(self) -> float:
        """Sum of the task runtimes, in core-seconds at reference speed."""
        return sum(t.runtime_s * t.cores for t in self.tasks.values())


def load_schema(path: Path) -> dict[str, Any]:
    """Read the WfFormat JSON schema.

    Raises:
        WfFormatError: The schema file is missing or not JSON.
    """
    try:
        schema: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WfFormatError(f"{path}: cannot read the WfFormat schema: {err}") from err
    return schema


def load_wfformat(path: Path, schema: Mapping[str, Any]) -> Workflow:
    """Read and validate one WfFormat instance file.

    Args:
        path: The instance (JSON).
        schema: The WfFormat schema from :func:`load_schema`.

    Returns:
        The workflow, tasks in topological order.

    Raises:
        WfFormatError: Unreadable, invalid against the schema, or not a DAG.
    """
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WfFormatError(f"{path}: cannot read: {err}") from err
    return parse_wfformat(doc, schema, source=str(path))


def parse_wfformat(doc: Any, schema: Mapping[str, Any], *, source: str = "<doc>") -> Workflow:
    """Validate a decoded WfFormat document and build the :class:`Workflow`.

    Args:
        doc: The decoded JSON document.
        schema: The WfFormat schema.
        source: Where the document came from, for error messages.

    Raises:
        WfFormatError: Invalid against the schema, inconsistent, or cyclic.
    """
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    errors = sorted(validator_cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise WfFormatError(
            f"{source}: not valid WfFormat at {first.json_path}: {first.message}"
            f" ({len(errors)} error(s))"
        )
    spec = doc["workflow"]["specification"]
    execution = doc["workflow"].get("execution", {})
    runs = {t["id"]: t for t in execution.get("tasks", [])}
    files = {f["id"]: SimFile(f["id"], int(f["sizeInBytes"])) for f in spec.get("files", [])}
    raw: dict[str, SimTask] = {}
    for t in spec["tasks"]:
        run = runs.get(t["id"], {})
        if "runtimeInSeconds" not in run:
            raise WfFormatError(
                f"{source}: task {t['id']!r} has no execution.tasks[].runtimeInSeconds;"
                " placement needs a runtime for every task"
            )
        for file_id in (*t.get("inputFiles", []), *t.get("outputFiles", [])):
            if file_id not in files:
                raise WfFormatError(f"{source}: task {t['id']!r} names unknown file {file_id!r}")
        raw[t["id"]] = SimTask(
            id=t["id"],
            name=t["name"],
            runtime_s=max(_MIN_RUNTIME_S, float(run["runtimeInSeconds"])),
            cores=max(1, int(run.get("coreCount", 1) or 1)),
            memory_bytes=int(run.get("memoryInBytes") or DEFAULT_MEMORY_BYTES),
            parents=tuple(dict.fromkeys(t["parents"])),
            children=tuple(dict.fromkeys(t["children"])),
            inputs=tuple(dict.fromkeys(t.get("inputFiles", []))),
            outputs=tuple(dict.fromkeys(t.get("outputFiles", []))),
        )
    return Workflow(
        name=doc["name"],
        tasks=_topological(raw, source),
        files=files,
        recorded_makespan_s=execution.get("makespanInSeconds"),
    )


def _topological(tasks: dict[str, SimTask], source: str) -> dict[str, SimTask]:
    """Order tasks parents-first (Kahn), checking that every edge names a task and no cycle."""
    for task in tasks.values():
        for other in (*task.parents, *task.children):
            if other not in tasks:
                raise WfFormatError(f"{source}: task {task.id!r} names unknown task {other!r}")
    # Parents and children lists may disagree in some instances; the union of both is the graph.
    preds: dict[str, set[str]] = {tid: set(t.parents) for tid, t in tasks.items()}
    for task in tasks.values():
        for child in task.children:
            preds[child].add(task.id)
    succs: dict[str, list[str]] = {tid: [] for tid in tasks}
    for tid, ps in preds.items():
        for p in ps:
            succs[p].append(tid)
    pending = {tid: len(ps) for tid, ps in preds.items()}
    queue = [tid for tid in tasks if pending[tid] == 0]
    order: list[str] = []
    while queue:
        tid = queue.pop()
        order.append(tid)
        for child in succs[tid]:
            pending[child] -= 1
            if pending[child] == 0:
                queue.append(child)
    if len(order) != len(tasks):
        stuck = sorted(tid for tid, n in pending.items() if n > 0)[:5]
        raise WfFormatError(f"{source}: the task graph has a cycle through {stuck}")
    position = {tid: i for i, tid in enumerate(tasks)}
    result: dict[str, SimTask] = {}
    for tid in order:
        t = tasks[tid]
        result[tid] = SimTask(
            t.id, t.name, t.runtime_s, t.cores, t.memory_bytes,
            tuple(sorted(preds[tid], key=position.__getitem__)),
            tuple(sorted(succs[tid], key=position.__getitem__)),
            t.inputs, t.outputs,
        )  # fmt: skip
    return result
