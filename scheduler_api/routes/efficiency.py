"""Efficiency of requests: ``GET /v1/workflows/{id}/efficiency`` and
``GET /v1/efficiency/over-requested`` (read scope).

CPU seconds used against cores requested and peak memory against memory requested, per task and
per run, from the attempt records the runner reports with each attempt's output
(``scheduler_api.workflow._efficiency``); the second route ranks, over the newest runs, the
tasks that held the most requested cores idle.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from scheduler_api._deps import READ, Context
from scheduler_api._errors import ERROR_RESPONSES
from scheduler_api.routes.logs import NOT_FOUND, WorkflowId, known_workflow, log_store
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._efficiency import (
    most_over_requested,
    task_efficiency,
    workflow_efficiency,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/v1", tags=["efficiency"], dependencies=[READ], responses=ERROR_RESPONSES
)


class TaskEfficiencyOut(BaseModel):
    """One task's use of what it asked for (by its last successful attempt)."""

    workflow_id: str
    task_id: str
    attempt: int
    node: str
    wall_s: float
    cpu_s: float
    cpu_cores_requested: int
    cpu_efficiency: float | None = Field(description="cpu_s / (cores x wall_s).")
    idle_core_s: float = Field(description="Requested core-seconds left unused.")
    peak_memory_bytes: int
    memory_bytes_requested: int
    memory_efficiency: float | None = Field(description="Peak over requested memory.")


class WorkflowEfficiencyOut(BaseModel):
    """A run's tasks, one by one and together."""

    workflow_id: str
    tasks: int
    cpu_s: float
    core_s_requested: float
    cpu_efficiency: float | None
    peak_memory_bytes: int
    memory_bytes_requested: int
    memory_efficiency: float | None
    per_task: list[TaskEfficiencyOut]


class OverRequestedOut(BaseModel):
    """Tasks of the newest runs that held the most requested cores idle."""

    runs: int = Field(description="Runs read.")
    tasks: list[TaskEfficiencyOut]


@router.get(
    "/workflows/{workflow_id}/efficiency",
    summary="CPU seconds against cores requested, peak memory against memory requested",
    responses=NOT_FOUND,
)
def efficiency(request: Request, ctx: Context, workflow_id: WorkflowId) -> WorkflowEfficiencyOut:
    known_workflow(ctx, workflow_id)
    tasks = task_efficiency(workflow_id, log_store(request, ctx).get(workflow_id))
    total = workflow_efficiency(workflow_id, tasks)
    return WorkflowEfficiencyOut(
        **dataclasses.asdict(total),
        per_task=[TaskEfficiencyOut(**dataclasses.asdict(t)) for t in tasks],
    )


@router.get("/efficiency/over-requested", summary="The most over-requested tasks of recent runs")
def over_requested(
    request: Request,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    runs: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> OverRequestedOut:
    store = log_store(request, ctx)
    plans = PlacementHistory(ctx.db).list_plans(runs)
    tasks = [t for p in plans for t in task_efficiency(p.plan_id, store.get(p.plan_id))]
    return OverRequestedOut(
        runs=len(plans),
        tasks=[
            TaskEfficiencyOut(**dataclasses.asdict(t)) for t in most_over_requested(tasks, limit)
        ],
    )
