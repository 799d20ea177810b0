"""``GET /v1/workload``: how work is spread over the nodes, from the placement history.

Per node: tasks running and queued now, placements onto it per time bucket over the window, and
each workflow's share of its busy time (``scheduler_api.workflow._workload``). The newest
``plans`` records of the history are read, which bounds the cost of one answer.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from scheduler_api._deps import READ, Context
from scheduler_api._errors import ERROR_RESPONSES
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._workload import node_workload

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["workload"], dependencies=[READ], responses=ERROR_RESPONSES)


class WorkflowShareOut(BaseModel):
    """One workflow's part of a node's busy time."""

    workflow_id: str
    busy_s: float
    share: float = Field(description="Of the node's busy seconds in the window, 0 to 1.")
    tasks: int


class NodeWorkloadOut(BaseModel):
    """What one node ran and holds."""

    node: str
    running: int = Field(description="Tasks running there at the window's end.")
    queued: int = Field(description="Tasks placed there and not started.")
    placements: list[int] = Field(description="Placements onto it per bucket, oldest first.")
    busy_s: float = Field(description="Seconds of running tasks, summed over concurrent ones.")
    shares: list[WorkflowShareOut]


class WorkloadOut(BaseModel):
    """Work per node over a window."""

    since_s: float
    until_s: float
    bucket_s: float
    plans: int = Field(description="History records read.")
    nodes: list[NodeWorkloadOut]


@router.get("/workload", summary="Tasks running and queued per node, placements, workflow shares")
def workload(
    ctx: Context,
    window_s: Annotated[float, Query(ge=1, le=30 * 86400)] = 3600.0,
    bucket_s: Annotated[float, Query(gt=0, le=86400)] = 300.0,
    plans: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> WorkloadOut:
    history = PlacementHistory(ctx.db)
    records = [r for p in history.list_plans(plans) if (r := history.get(p.plan_id)) is not None]
    until_s = ctx.clock()
    since_s = until_s - window_s
    bucket_s = min(max(bucket_s, window_s / 1000.0), window_s)
    view = node_workload(records, since_s=since_s, until_s=until_s, bucket_s=bucket_s)
    return WorkloadOut(
        since_s=since_s,
        until_s=until_s,
        bucket_s=bucket_s,
        plans=len(records),
        nodes=[
            NodeWorkloadOut(
                node=n.node,
                running=n.running,
                queued=n.queued,
                placements=n.placements,
                busy_s=n.busy_s,
                shares=[WorkflowShareOut(**dataclasses.asdict(s)) for s in n.shares],
            )
            for n in view.values()
        ],
    )
