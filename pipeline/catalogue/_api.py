"""Series of the scheduler API's self-metrics (its ``/metrics``, scraped by Prometheus)."""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType


def _api(
    name: str, kind: SeriesType, unit: str, help_text: str, labels: tuple[str, ...] = ()
) -> Series:
    return Series(name, kind, unit, help_text, labels=labels, source="api")


API_SERIES: tuple[Series, ...] = (
    _api(
        "continuum_api_requests_total",
        SeriesType.COUNTER,
        "",
        "HTTP requests answered, by route template, method and status code.",
        ("route", "method", "code"),
    ),
    _api(
        "continuum_api_request_duration_seconds",
        SeriesType.HISTOGRAM,
        "seconds",
        "Time to answer an HTTP request, by route template and method.",
        ("route", "method"),
    ),
    _api(
        "continuum_api_snapshot_age_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Age of the cluster snapshot rankings are served from.",
    ),
    _api(
        "continuum_api_snapshot_nodes",
        SeriesType.GAUGE,
        "",
        "Nodes in the cluster snapshot.",
    ),
    _api(
        "continuum_api_snapshot_refresh_duration_seconds",
        SeriesType.HISTOGRAM,
        "seconds",
        "Time to refresh the cluster snapshot from Prometheus.",
    ),
    _api(
        "continuum_api_snapshot_refresh_failures_total",
        SeriesType.COUNTER,
        "",
        "Snapshot refreshes that failed, by reason (unavailable, query).",
        ("reason",),
    ),
    _api(
        "continuum_api_rankings_total",
        SeriesType.COUNTER,
        "",
        "Rankings computed, by caller (rankings, extender).",
        ("caller",),
    ),
    _api(
        "continuum_api_alerts_received_total",
        SeriesType.COUNTER,
        "",
        "Alerts received from Alertmanager, by status (firing, resolved).",
        ("status",),
    ),
    _api(
        "continuum_api_unhealthy_nodes",
        SeriesType.GAUGE,
        "",
        "Nodes marked unhealthy by firing alerts.",
    ),
    _api(
        "continuum_api_pending_reservations",
        SeriesType.GAUGE,
        "",
        "Placements counted against nodes until their metrics show them.",
    ),
    # Workload distribution, from the placement history (scheduler_api/_workload_metrics.py).
    _api(
        "continuum_api_workload_tasks",
        SeriesType.GAUGE,
        "",
        "Tasks running and queued on each node, from the placement history.",
        ("node", "state"),
    ),
    _api(
        "continuum_api_workload_placements",
        SeriesType.GAUGE,
        "",
        "Placements onto each node in the last five minutes.",
        ("node",),
    ),
    _api(
        "continuum_api_workload_share",
        SeriesType.GAUGE,
        "ratio",
        "Each workflow's share of a node's busy time over the last hour.",
        ("node", "workflow"),
    ),
    _api(
        "continuum_api_workflow_efficiency",
        SeriesType.GAUGE,
        "ratio",
        "Used over requested, per workflow run of the last hour: CPU seconds over requested "
        "core-seconds (cpu), peak over requested memory (memory).",
        ("workflow", "resource"),
    ),
    _api(
        "continuum_api_task_idle_core_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Requested core-seconds the most over-requested tasks of the last hour left unused.",
        ("workflow", "task"),
    ),
)
