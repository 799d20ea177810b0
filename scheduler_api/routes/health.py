"""``/healthz`` (the process answers), ``/readyz`` (a fresh snapshot is loaded), ``/metrics``."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scheduler_api._cluster import SnapshotUnavailableError
from scheduler_api._deps import Context
from scheduler_api._schemas import HealthOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: a cluster snapshot fresh enough to rank from is loaded",
    responses={503: {"model": HealthOut, "description": "No fresh snapshot; message says why."}},
)
async def readyz(ctx: Context, response: Response) -> HealthOut:
    try:
        ctx.cluster.view()
    except SnapshotUnavailableError as err:
        response.status_code = 503
        return HealthOut(status="unavailable", message=str(err))
    return HealthOut(status="ok")


@router.get(
    "/metrics",
    summary="Self-metrics in the Prometheus text format",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(ctx: Context) -> Response:
    with contextlib.suppress(SnapshotUnavailableError):
        ctx.cluster.view()  # updates the snapshot-age gauge
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
