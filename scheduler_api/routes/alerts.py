"""``POST /v1/alerts`` (Alertmanager webhook, version 4) and ``GET /v1/alerts`` (state, history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scheduler_api._alerts import AlertEvent, StoredAlertEvent
from scheduler_api._deps import ALERTS, READ, Context
from scheduler_api._errors import ERROR_RESPONSES
from scheduler_api._schemas import AlertEventOut, AlertsOut, AlertsReceipt, AlertWebhook

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["alerts"], responses=ERROR_RESPONSES)


def _out(event: StoredAlertEvent) -> AlertEventOut:
    return AlertEventOut(
        received_at_s=event.received_at_s,
        fingerprint=event.fingerprint,
        status=event.status,
        alertname=event.alertname,
        node=event.node,
        severity=event.severity,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        labels=event.labels,
    )


@router.post(
    "/alerts",
    summary="Alertmanager webhook receiver",
    description="Firing alerts with a `node` label and an unhealthy severity (default "
    "`critical`) mark that node unhealthy; resolved ones clear it. Every event is kept.",
    dependencies=[ALERTS],
)
def receive_alerts(ctx: Context, payload: AlertWebhook) -> AlertsReceipt:
    events = [
        AlertEvent(a.status, a.labels, a.fingerprint, a.startsAt, a.endsAt) for a in payload.alerts
    ]
    for event in events:
        ctx.metrics.alerts_received.labels(status=event.status).inc()
    if ctx.alerts.apply(events):
        ctx.cluster.alerts_changed()
    return AlertsReceipt(received=len(events), unhealthy_nodes=sorted(ctx.alerts.unhealthy()))


@router.get("/alerts", summary="Unhealthy nodes, active alerts and history", dependencies=[READ])
def list_alerts(
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=10000, description="History events to return.")] = 100,
    node: Annotated[str | None, Query(max_length=253, description="Only this node.")] = None,
) -> AlertsOut:
    return AlertsOut(
        unhealthy={n: list(names) for n, names in ctx.alerts.unhealthy().items()},
        active=[_out(e) for e in ctx.alerts.active()],
        history=[_out(e) for e in ctx.alerts.history(limit, node)],
    )
