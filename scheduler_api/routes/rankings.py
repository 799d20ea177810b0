"""``POST /v1/rankings``: requirements in, ranked feasible nodes with their breakdown out."""

from __future__ import annotations

import pydantic_core
from fastapi import APIRouter
from fastapi.responses import Response

from scheduler_api._deps import Scheduler
from scheduler_api._errors import ERROR_RESPONSES, error_response
from scheduler_api._schemas import RankingOut, RankingRequest
from scheduler_api._views import rank_task

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["rankings"], responses=ERROR_RESPONSES)


@router.post(
    "/rankings",
    summary="Rank nodes for a task",
    description="Filters nodes on hard constraints and health, scores the rest; every ranked "
    "node shows its score components and every filtered node its reasons.",
    response_model=RankingOut,
    responses={404: error_response("A dataset named in the request is not catalogued.")},
)
async def create_ranking(ctx: Scheduler, request: RankingRequest) -> Response:
    # The hottest route: a plain document in the shape of RankingOut, serialised here, since
    # FastAPI's validation of a returned model would cost more than the ranking.
    document = rank_task(ctx, ctx.cluster.view(), request)
    body = pydantic_core.to_json(document, inf_nan_mode="null")
    return Response(body, media_type="application/json")
