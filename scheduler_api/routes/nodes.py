"""``GET /v1/nodes`` and ``GET /v1/nodes/{node_id}``: the inventory."""

from __future__ import annotations

from fastapi import APIRouter, Path

from scheduler_api._deps import READ, Context, View
from scheduler_api._errors import ERROR_RESPONSES, ApiError, error_response
from scheduler_api._schemas import NodeOut, NodesOut
from scheduler_api._views import node_out, snapshot_info

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["nodes"], dependencies=[READ], responses=ERROR_RESPONSES)


@router.get("/nodes", summary="Every node seen, with capacity, usage, health and freshness")
async def list_nodes(ctx: Context, view: View) -> NodesOut:
    now_s = ctx.clock()
    stale_after_s = ctx.settings.stale_after_s
    info = snapshot_info(view, now_s)
    return NodesOut(
        **info.model_dump(), nodes=[node_out(n, now_s, stale_after_s) for n in view.nodes]
    )


@router.get(
    "/nodes/{node_id}",
    summary="One node",
    responses={404: error_response("No node with this id in the snapshot.")},
)
async def get_node(
    ctx: Context, view: View, node_id: str = Path(description="continuum node id")
) -> NodeOut:
    node = view.node(node_id)
    if node is None:
        raise ApiError(404, f"node {node_id!r} is not in the snapshot: see GET /v1/nodes")
    return node_out(node, ctx.clock(), ctx.settings.stale_after_s)
