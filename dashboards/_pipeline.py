"""Pipeline health: consumption, remote write, lag, drops and dead letters, agent delivery."""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Query, Row, stat, timeseries

__all__ = ["PIPELINE"]

_RATE = "[$__rate_interval]"


def _quantile(q: float, histogram: str, legend: str) -> Query:
    return Query(f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{_RATE})))", legend)


_NOW = Row(
    "Now",
    (
        stat(
            "Records/s",
            f"sum(rate(continuum_pipeline_records_total{_RATE}))",
            description="Kafka records consumed per second, all workers.",
        ),
        stat("Samples written/s", f"sum(rate(continuum_pipeline_samples_written_total{_RATE}))"),
        stat(
            "Write lag p99",
            "histogram_quantile(0.99, sum by (le) "
            f"(rate(continuum_pipeline_write_lag_seconds_bucket{_RATE})))",
            unit="s",
            description="Newest sample of a record to its acknowledgement by Prometheus.",
        ),
        stat("Pending samples", "sum(continuum_pipeline_pending_samples)"),
        stat("Nodes tracked", "sum(continuum_pipeline_nodes_tracked)"),
        stat(
            "Dead letters/s",
            f"sum(rate(continuum_pipeline_dead_letters_total{_RATE})) or vector(0)",
            description="Records sent to otlp_metrics.dlq (0 before the first one).",
        ),
    ),
)

# A counter with no label values yet (nothing dropped, nothing dead-lettered) has no series:
# its by-reason panel shows one "none" line at 0 instead of "No data".
_NONE = 'label_replace(vector(0), "reason", "none", "", "")'

_FLOW = Row(
    "Throughput and lag",
    (
        timeseries(
            "Records consumed by content type",
            Query(
                f"sum by (content_type) (rate(continuum_pipeline_records_total{_RATE}))",
                "{{content_type}}",
            ),
        ),
        timeseries(
            "Samples written",
            Query(f"sum(rate(continuum_pipeline_samples_written_total{_RATE}))", "written"),
        ),
        timeseries(
            "Write lag",
            _quantile(0.5, "continuum_pipeline_write_lag_seconds", "p50"),
            _quantile(0.99, "continuum_pipeline_write_lag_seconds", "p99"),
            unit="s",
            description="From a record's newest sample to Prometheus' acknowledgement.",
        ),
        timeseries(
            "Remote-write latency",
            _quantile(0.5, "continuum_pipeline_remote_write_duration_seconds", "p50"),
            _quantile(0.99, "continuum_pipeline_remote_write_duration_seconds", "p99"),
            unit="s",
        ),
        timeseries(
            "Remote-write requests by outcome",
            Query(
                f"sum by (outcome) (rate(continuum_pipeline_remote_write_requests_total{_RATE}))",
                "{{outcome}}",
            ),
            Query(f"sum(rate(continuum_pipeline_remote_write_retries_total{_RATE}))", "retries"),
        ),
        timeseries(
            "Pending samples and backpressure",
            Query("sum by (instance) (continuum_pipeline_pending_samples)", "{{instance}}"),
            Query(
                f"sum(rate(continuum_pipeline_backpressure_seconds_total{_RATE}))",
                "paused fraction",
            ),
            description="Samples awaiting acknowledgement; share of time consumption paused.",
        ),
    ),
)

_LOSSES = Row(
    "Drops, fixes and dead letters",
    (
        timeseries(
            "Samples dropped by reason",
            Query(
                f"sum by (reason) (rate(continuum_pipeline_samples_dropped_total{_RATE}))"
                f" or {_NONE}",
                "{{reason}}",
            ),
            description="Samples Prometheus would have rejected, caught before sending.",
        ),
        timeseries(
            "Samples adjusted by reason",
            Query(
                f"sum by (reason) (rate(continuum_pipeline_samples_adjusted_total{_RATE}))"
                f" or {_NONE}",
                "{{reason}}",
            ),
            description="Samples repaired rather than dropped (clamped timestamps, names).",
        ),
        timeseries(
            "Dead letters by reason",
            Query(
                f"sum by (reason) (rate(continuum_pipeline_dead_letters_total{_RATE})) or {_NONE}",
                "{{reason}}",
            ),
        ),
        timeseries(
            "Offset commits",
            Query(f"sum(rate(continuum_pipeline_offset_commits_total{_RATE}))", "commits"),
            Query(f"sum(rate(continuum_pipeline_offset_commit_failures_total{_RATE}))", "failures"),
        ),
    ),
)

_AGENTS = Row(
    "Agent delivery",
    (
        timeseries(
            "Points exported and delivered",
            Query(
                f"sum by (node, agent) (rate(continuum_agent_exported_points_total{_RATE}))",
                "{{node}} {{agent}} exported",
            ),
            Query(
                f"sum by (node, agent) (rate(continuum_agent_delivered_points_total{_RATE}))",
                "{{node}} {{agent}} delivered",
            ),
        ),
        timeseries(
            "Queue and spool",
            Query("continuum_agent_export_queue_depth", "{{node}} {{agent}} queue"),
            Query("continuum_agent_spool_usage_bytes", "{{node}} {{agent}} spool bytes"),
            description="Exports waiting in memory, and bytes spilled to disk while Kafka is out.",
        ),
        timeseries(
            "Collector time",
            Query(
                "max by (agent, collector) (continuum_agent_collector_duration_seconds)",
                "{{agent}} {{collector}}",
            ),
            unit="s",
            description="Slowest node per collector: each collector has its own time budget.",
        ),
        timeseries(
            "Series tracked by the pipeline",
            Query("sum by (instance) (continuum_pipeline_series_tracked)", "{{instance}}"),
        ),
    ),
)

PIPELINE = DashboardSpec(
    uid="continuum-pipeline",
    title="Continuum pipeline health",
    description="Kafka consumption, remote write, lag, drops by reason, dead letters, delivery.",
    rows=(_NOW, _FLOW, _LOSSES, _AGENTS),
)
