"""Scheduler: what the API serves (rankings, placements), alerts it acts on, node freshness, and
how the work is spread over the nodes."""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row, stat, timeseries

__all__ = ["SCHEDULER"]

_RATE = "[$__rate_interval]"

_NOW = Row(
    "Now",
    (
        stat("Nodes in snapshot", "max(continuum_api_snapshot_nodes)"),
        stat(
            "Unhealthy nodes",
            "max(continuum_api_unhealthy_nodes)",
            description="Nodes with a firing critical alert: filtered out of rankings.",
        ),
        stat(
            "Stale nodes",
            "count(continuum:node_up == 0) or vector(0)",
            description="Known nodes whose telemetry is over a minute old.",
        ),
        stat(
            "Snapshot age",
            "max(continuum_api_snapshot_age_seconds)",
            unit="s",
            description="Age of the cluster snapshot rankings are computed on.",
        ),
        stat("Firing alerts", 'count(ALERTS{alertstate="firing"}) or vector(0)'),
        stat("Pending reservations", "sum(continuum_api_pending_reservations)"),
    ),
)

_SERVED = Row(
    "Rankings and placements",
    (
        timeseries(
            "Rankings served by caller",
            Query(f"sum by (caller) (rate(continuum_api_rankings_total{_RATE}))", "{{caller}}"),
            description="Ranking requests per second: REST, Kubernetes extender, workflow runs.",
        ),
        timeseries(
            "Placements and extender calls",
            Query(
                "sum by (route) (rate(continuum_api_requests_total"
                f'{{route=~"/v1/placements|/v1/extender/.*"}}{_RATE}))',
                "{{route}}",
            ),
        ),
        timeseries(
            "Request latency p99 by route",
            Query(
                "histogram_quantile(0.99, sum by (le, route) "
                f"(rate(continuum_api_request_duration_seconds_bucket{_RATE})))",
                "{{route}}",
            ),
            unit="s",
        ),
        timeseries(
            "Requests by status code",
            Query(f"sum by (code) (rate(continuum_api_requests_total{_RATE}))", "{{code}}"),
        ),
    ),
)

_HEALTH = Row(
    "Alerts and freshness",
    (
        timeseries(
            "Alert notifications received",
            Query(
                f"sum by (status) (rate(continuum_api_alerts_received_total{_RATE}))",
                "{{status}}",
            ),
            description="Alertmanager webhook notifications, firing and resolved.",
        ),
        timeseries(
            "Unhealthy and stale nodes",
            Query("max(continuum_api_unhealthy_nodes)", "unhealthy (critical alert)"),
            Query("count(continuum:node_up == 0) or vector(0)", "stale telemetry"),
        ),
        Panel(
            "Telemetry age by node",
            (Query("continuum:node_telemetry_age_seconds", "{{node}}", instant=True),),
            kind=PanelKind.BARGAUGE,
            unit="s",
            description="Seconds since each node's latest aggregate; over 60 s counts as stale.",
        ),
        timeseries(
            "Snapshot refresh",
            Query(
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(continuum_api_snapshot_refresh_duration_seconds_bucket{_RATE})))",
                "refresh p99",
            ),
            # The counter appears with its first failure: 0 until then, not "No data".
            Query(
                f"sum(rate(continuum_api_snapshot_refresh_failures_total{_RATE})) or vector(0)",
                "failures/s",
            ),
            unit="s",
        ),
    ),
)

_WORKLOAD = Row(
    "Workload by node",
    (
        timeseries(
            "Tasks running and queued by node",
            Query(
                'sum by (node) (continuum_api_workload_tasks{state="running"})', "{{node}} running"
            ),
            Query(
                'sum by (node) (continuum_api_workload_tasks{state="queued"})', "{{node}} queued"
            ),
            description="From the placement history: started, and placed but not started.",
        ),
        timeseries(
            "Placements by node",
            Query("sum by (node) (continuum_api_workload_placements)", "{{node}}"),
            description="Placements (and re-placements) onto each node over the last five minutes.",
        ),
        Panel(
            "Request efficiency by workflow",
            (
                Query(
                    'continuum_api_workflow_efficiency{resource="cpu"}',
                    "{{workflow}} cpu",
                    instant=True,
                ),
                Query(
                    'continuum_api_workflow_efficiency{resource="memory"}',
                    "{{workflow}} memory",
                    instant=True,
                ),
            ),
            kind=PanelKind.BARGAUGE,
            unit="percentunit",
            description="CPU seconds over requested core-seconds, peak over requested memory.",
        ),
        Panel(
            "Most over-requested tasks",
            (Query("continuum_api_task_idle_core_seconds", "{{workflow}} {{task}}", instant=True),),
            kind=PanelKind.TABLE,
            unit="s",
            description="Requested core-seconds each task left idle, the ten largest.",
        ),
        Panel(
            "Workflow shares of each node",
            (Query("continuum_api_workload_share", "{{node}} {{workflow}}", instant=True),),
            kind=PanelKind.BARGAUGE,
            unit="percentunit",
            description="Each workflow's part of a node's busy time over the last hour.",
        ),
    ),
)

# Task series are pushed when a run's attempts end (often once, at its close), so the panels
# show each recent run's totals, which one sample gives, rather than rates, which need two.
_TASKS = Row(
    "Tasks as they ran",
    (
        Panel(
            "Task attempts by node",
            (
                Query(
                    "sum by (node) (continuum_task_duration_seconds_count)",
                    "{{node}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.BARGAUGE,
            description="Attempts of recent `continuum run` workflows that ended on each node "
            "(finished and failed).",
        ),
        Panel(
            "Mean task duration by task",
            (
                Query(
                    "sum by (task) (continuum_task_duration_seconds_sum)"
                    " / sum by (task) (continuum_task_duration_seconds_count)",
                    "{{task}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.BARGAUGE,
            unit="s",
        ),
        Panel(
            "Task CPU by workflow and node",
            (
                Query(
                    "sum by (workflow, node) (continuum_task_cpu_time_seconds_total)",
                    "{{workflow}} {{node}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.TABLE,
            unit="s",
            description="CPU seconds the tasks used, joinable with the node's own series on node.",
        ),
        Panel(
            "Task I/O by workflow",
            (
                Query(
                    "sum by (workflow, disk_io_direction) (continuum_task_io_bytes_total)",
                    "{{workflow}} {{disk_io_direction}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.BARGAUGE,
            unit="bytes",
        ),
    ),
)

SCHEDULER = DashboardSpec(
    uid="continuum-scheduler",
    title="Continuum scheduler",
    description="Rankings served, placements, alerts acted on and node freshness.",
    rows=(_NOW, _SERVED, _HEALTH, _WORKLOAD, _TASKS),
)
