"""Task logs: ``GET /v1/workflows/{id}/tasks/{task}/logs`` (read scope) and the upload of each
attempt by the runner (schedule scope).

A workflow id is the id of its placement history record (``POST /v1/placements/runs`` opens one
for ``continuum run``). The last attempts of each task are kept (``api.task_logs.attempts_kept``),
a failed one with its failure reason, at most ``api.task_logs.max_bytes_per_stream`` per stream,
redacted of the secrets ``api.task_logs.redact_env`` names.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from scheduler_api._deps import READ, SCHEDULE, Context
from scheduler_api._errors import ERROR_RESPONSES, ApiError, error_response
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._logs import AttemptLog, TaskLogStore

__all__ = ["NOT_FOUND", "WorkflowId", "known_workflow", "log_store", "router"]

router = APIRouter(prefix="/v1", tags=["logs"], responses=ERROR_RESPONSES)

WorkflowId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="Placement history id of the run.")
]
TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error_response("No workflow run with this id.")}


class AttemptLogIn(BaseModel):
    """One ended attempt of a task, as the runner reports it."""

    attempt: int = Field(ge=1, le=1 << 20)
    node: str = Field("", max_length=253)
    ok: bool
    error: str = Field("", description="The failure reason (traceback) of a failed attempt.")
    started_s: float = 0.0
    finished_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    stdout_dropped_bytes: int = Field(0, ge=0)
    stderr_dropped_bytes: int = Field(0, ge=0)
    cpu_s: float = Field(0.0, ge=0, description="CPU seconds it used (0: not measured).")
    peak_memory_bytes: int = Field(0, ge=0, description="Its peak resident memory.")
    cpu_cores_requested: int = Field(1, ge=1)
    memory_bytes_requested: int = Field(0, ge=0)


class AttemptLogOut(AttemptLogIn):
    """One kept attempt of a task."""

    task_id: str


class TaskLogsOut(BaseModel):
    """The kept attempts of one task, oldest first."""

    workflow_id: str
    task_id: str
    attempts: list[AttemptLogOut]


class WorkflowLogsOut(BaseModel):
    """The kept attempts of every task of a run that reported any."""

    workflow_id: str
    attempts: list[AttemptLogOut] = Field(description="By task, then attempt.")


def log_store(request: Request, ctx: Context) -> TaskLogStore:
    store: TaskLogStore | None = getattr(request.app.state, "task_logs", None)
    if store is None:
        store = TaskLogStore(ctx.db, ctx.settings.task_logs)
        request.app.state.task_logs = store
    return store


def known_workflow(ctx: Context, workflow_id: str) -> None:
    if PlacementHistory(ctx.db).get(workflow_id) is None:
        raise ApiError(404, f"no workflow run {workflow_id!r}: see GET /v1/placements")


def _out(log: AttemptLog) -> AttemptLogOut:
    fields = dataclasses.asdict(log)
    return AttemptLogOut(node=fields.pop("node_id"), **fields)


@router.get(
    "/workflows/{workflow_id}/tasks/{task_id}/logs",
    summary="A task's stdout and stderr, per kept attempt, with each failure's reason",
    dependencies=[READ],
    responses=NOT_FOUND,
)
def task_logs(
    request: Request, ctx: Context, workflow_id: WorkflowId, task_id: TaskId
) -> TaskLogsOut:
    known_workflow(ctx, workflow_id)
    attempts = log_store(request, ctx).get(workflow_id, task_id)
    return TaskLogsOut(
        workflow_id=workflow_id, task_id=task_id, attempts=[_out(a) for a in attempts]
    )


@router.get(
    "/workflows/{workflow_id}/logs",
    summary="Every task's kept attempts",
    dependencies=[READ],
    responses=NOT_FOUND,
)
def workflow_logs(request: Request, ctx: Context, workflow_id: WorkflowId) -> WorkflowLogsOut:
    known_workflow(ctx, workflow_id)
    attempts = log_store(request, ctx).get(workflow_id)
    return WorkflowLogsOut(workflow_id=workflow_id, attempts=[_out(a) for a in attempts])


@router.post(
    "/workflows/{workflow_id}/tasks/{task_id}/logs",
    summary="Report an ended attempt's output (continuum run does)",
    dependencies=[SCHEDULE],
    responses=NOT_FOUND,
)
def add_task_log(
    request: Request, ctx: Context, workflow_id: WorkflowId, task_id: TaskId, body: AttemptLogIn
) -> AttemptLogOut:
    known_workflow(ctx, workflow_id)
    fields = body.model_dump()
    log = AttemptLog(task_id=task_id, node_id=fields.pop("node"), **fields)
    return _out(log_store(request, ctx).add(workflow_id, log))
