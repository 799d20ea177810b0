"""The FastAPI app factory.

    app = create_app(load_settings(Path("continuum.yaml")))

The app owns its parts (token book, database, alert book, snapshot refresher, pending ledger,
self-metrics); the snapshot refresher runs between startup and shutdown (the lifespan).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler_api._alerts import AlertBook
from scheduler_api._auth import TokenBook
from scheduler_api._cluster import Cluster
from scheduler_api._context import ApiContext
from scheduler_api._datasets import DatasetCatalogue
from scheduler_api._deps import SCHEDULE
from scheduler_api._errors import ERROR_RESPONSES, install_error_handlers
from scheduler_api._metrics import ApiMetrics
from scheduler_api._pending import PendingLedger
from scheduler_api._prometheus import PrometheusClient
from scheduler_api._settings import ApiSettings
from scheduler_api._store import Database
from scheduler_api._workload_metrics import WorkloadCollector
from scheduler_api.routes import (
    alerts,
    datasets,
    efficiency,
    extender,
    health,
    history,
    logs,
    nodes,
    placements,
    rankings,
    workload,
)
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._logs import TaskLogStore

__all__ = ["create_app"]

_DESCRIPTION = """\
Where should this run? Node inventory from live monitoring, explainable load-aware rankings,
the data-location catalogue, Alertmanager-driven node health and Kubernetes scheduler-extender
verbs. Every `/v1` route needs a bearer token with the scope it names (`read`, `schedule`,
`alerts`); every error is a JSON body with a `message`.
"""


_V1 = "/v1"


class _MetricsMiddleware:
    """Counts and times every request by route template (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            # Routers included with a prefix keep their own path on the route object.
            if scope.get("path", "").startswith(_V1 + "/") and not template.startswith(_V1):
                template = _V1 + template
            method = scope.get("method", "")
            self.metrics.requests.labels(template, method, str(status[0])).inc()
            self.metrics.request_duration.labels(template, method).observe(
                time.perf_counter() - started
            )


def build_context(
    settings: ApiSettings,
    *,
    prometheus_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> ApiContext:
    """Build the app's parts from settings (reads token files, opens the database).

    Raises:
        ConfigError: a token is missing or unreadable.
        StoreError: the database cannot be opened.
    """
    tokens = TokenBook.from_settings(settings)
    db = Database(settings.database)
    metrics = ApiMetrics()
    metrics.registry.register(
        WorkloadCollector(
            lambda: PlacementHistory(db), clock, lambda: TaskLogStore(db, settings.task_logs)
        )
    )
    alert_book = AlertBook(db, settings.unhealthy_severities)
    client = PrometheusClient(
        settings.prometheus_url,
        timeout_s=settings.query_timeout_s,
        transport=prometheus_transport,
        auth=settings.prometheus_auth,
    )
    cluster = Cluster(
        client,
        alert_book,
        metrics,
        interval_s=settings.snapshot_interval_s,
        max_age_s=settings.snapshot_max_age_s,
        cpu_window=settings.cpu_window,
        clock=clock,
    )
    return ApiContext(
        settings=settings,
        tokens=tokens,
        db=db,
        datasets=DatasetCatalogue(db),
        alerts=alert_book,
        cluster=cluster,
        pending=PendingLedger(db, settings.pending_ttl_s),
        metrics=metrics,
        weights=settings.weights.to_weights(),
        clock=clock,
    )


def create_app(
    settings: ApiSettings,
    *,
    prometheus_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    refresh_in_background: bool = True,
) -> FastAPI:
    """Build the scheduler API.

    Args:
        settings: the ``api`` section.
        prometheus_transport: an httpx transport for Prometheus queries (tests inject
            ``httpx.MockTransport``).
        clock: Unix time source (tests inject a fake one).
        refresh_in_background: run the snapshot refresh loop during the lifespan; when false
            the caller drives ``app.state.context.cluster.refresh()``.

    Raises:
        ConfigError: a token is missing or unreadable.
        StoreError: the database cannot be opened.
    """
    context = build_context(settings, prometheus_transport=prometheus_transport, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if refresh_in_background:
            context.cluster.start()
        try:
            yield
        finally:
            context.cluster.stop()
            context.db.close()

    app = FastAPI(
        title="Continuum Observatory scheduler API",
        version="1.0.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (nodes, history, rankings, datasets, alerts, logs, efficiency, workload):
        app.include_router(module.router)
    extender_deps: list[Any] = [SCHEDULE] if settings.extender_requires_token else []
    app.include_router(extender.router, dependencies=extender_deps)
    app.include_router(
        placements.router, prefix=_V1, dependencies=[SCHEDULE], responses=ERROR_RESPONSES
    )
    app.add_middleware(_MetricsMiddleware, metrics=context.metrics)
    _start_request_counters_at_zero(app, context.metrics)
    return app


def _start_request_counters_at_zero(app: FastAPI, metrics: ApiMetrics) -> None:
    """Each route's success count exists from the start (0), so a dashboard shows 0 requests
    rather than "No data" before the first; other codes appear with their first answer.

    The routes come from the OpenAPI document: its paths are the templates the middleware
    counts under (prefix included), with each operation's documented success code.
    """
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            codes = [c for c in operation.get("responses", {}) if c.startswith("2")]
            metrics.requests.labels(path, method.upper(), codes[0] if codes else "200")
