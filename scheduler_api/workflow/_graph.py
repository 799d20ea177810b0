"""From recorded calls to engine task specs, and the checks made before anything runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from scheduler_api.placement import DataInput, NodeInfo, Requirements, TaskSpec
from scheduler_api.placement._heuristics import topological_order
from scheduler_api.ranking import DatasetLocation, NodeFit, explain_unmet
from scheduler_api.workflow._costs import CostEstimate, estimate_work
from scheduler_api.workflow._dsl import TaskCall, WorkflowError

__all__ = ["check_graph", "explain_unsatisfiable", "to_specs"]


def to_specs(
    calls: Sequence[TaskCall],
    output_bytes: Mapping[str, int],
    estimates: Mapping[str, CostEstimate] | None = None,
) -> list[TaskSpec]:
    """Engine specs for ``calls``.

    Args:
        calls: Recorded calls.
        output_bytes: Each earlier call's result size.
        estimates: Call id -> the cost placement uses (``estimate_work``); a call missing
            from it gets its declared ``work_s``, else the default.
    """
    sizes = dict(output_bytes)
    sizes.update({call.call_id: call.function.output_bytes for call in calls})
    chosen = dict(estimates or {})
    return [
        TaskSpec(
            task_id=call.call_id,
            work_s=(
                chosen.get(call.call_id)
                or estimate_work(call.function.name, call.function.work_s, None)
            ).work_s,
            requirements=_with_datasets(call),
            depends_on={parent: sizes.get(parent, 0) for parent in call.parents},
            inputs=tuple(DataInput(d.dataset_id, d.size_bytes, d.nodes) for d in call.datasets),
            name=call.function.name,
            not_before_s=call.function.not_before_s,
            deadline_s=call.function.deadline_s,
        )
        for call in calls
    ]


def _with_datasets(call: TaskCall) -> Requirements:
    """The task's requirements with the datasets it reads, as the ranking model takes them.

    The engine's ranker (the API's ranking model) then sees what the call stages onto a node,
    against the node's free disk, and where each dataset is held, for the ``@storage`` hint.
    """
    if not call.datasets:
        return call.function.requirements
    located = tuple(
        DatasetLocation(d.dataset_id, d.size_bytes, d.nodes, d.sites, storage=d.storage)
        for d in call.datasets
    )
    return dataclasses.replace(call.function.requirements, datasets=located)


def explain_unsatisfiable(req: Requirements, nodes: Sequence[NodeInfo]) -> str | None:
    """Why no healthy node could ever take ``req`` (each constraint none meets), or None.

    A node's size is its capacity, not the lanes a busy node offers now: a task that fits a
    node once its load drops is not unsatisfiable.
    """
    fits = [
        NodeFit(
            n.node_id,
            cpu_cores=n.cpu_cores if n.capacity_cores is None else n.capacity_cores,
            memory_free_bytes=n.memory_free_bytes,
            gpus_free=n.gpus_free,
            arch=n.arch,
            tier=n.tier,
            site=n.site,
            labels=n.labels,
        )
        for n in nodes
        if n.healthy
    ]
    return explain_unmet(req, fits)


def check_graph(specs: Sequence[TaskSpec], nodes: Sequence[NodeInfo], known: set[str]) -> None:
    """Raise ``WorkflowError`` for a cycle, an unknown parent, or unsatisfiable constraints.

    Every problem found is listed, so one run shows them all.
    """
    by_id = {spec.task_id: spec for spec in specs}
    problems: list[str] = []
    children: dict[str, list[str]] = {}
    for spec in specs:
        for parent in spec.depends_on:
            if parent not in by_id and parent not in known:
                problems.append(f"{spec.task_id}: depends on unknown task {parent}")
            children.setdefault(parent, []).append(spec.task_id)
    try:
        topological_order(by_id, children)
    except ValueError as err:
        problems.append(str(err))
    seen: dict[Requirements, str | None] = {}
    for spec in specs:
        req = spec.requirements
        if req not in seen:
            seen[req] = explain_unsatisfiable(req, nodes)
        if seen[req] is not None:
            problems.append(f"{spec.task_id} ({spec.name}): no node meets {seen[req]}")
    if problems:
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WorkflowError("the workflow cannot run:\n  " + "\n  ".join(shown) + more)
