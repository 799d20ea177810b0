"""Series of every agent's self-telemetry (collector durations, queue, spool, drops).

Every agent exports them with an ``agent`` label (``node``, ``containers``, ``probes``...), so the
agents of one node stay apart.
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

AGENT_SELF_SERIES: tuple[Series, ...] = (
    Series(
        "continuum_agent_collector_duration_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Wall time of the collector's last run.",
        labels=("agent", "collector"),
        otel_name="continuum.agent.collector.duration",
    ),
    Series(
        "continuum_agent_collector_failures_total",
        SeriesType.COUNTER,
        "",
        "Collector runs that raised.",
        labels=("agent", "collector"),
        otel_name="continuum.agent.collector.failures",
    ),
    Series(
        "continuum_agent_collector_timeouts_total",
        SeriesType.COUNTER,
        "",
        "Cycles a collector was skipped in because it overran its time budget or was still stuck.",
        labels=("agent", "collector"),
        otel_name="continuum.agent.collector.timeouts",
    ),
    Series(
        "continuum_agent_export_queue_depth",
        SeriesType.GAUGE,
        "",
        "Export messages waiting for the broker, in memory and in the spool.",
        labels=("agent",),
        otel_name="continuum.agent.export.queue.depth",
    ),
    Series(
        "continuum_agent_spool_usage_bytes",
        SeriesType.GAUGE,
        "bytes",
        "Bytes held in the on-disk export spool.",
        labels=("agent",),
        otel_name="continuum.agent.spool.usage",
    ),
    Series(
        "continuum_agent_dropped_points_total",
        SeriesType.COUNTER,
        "",
        "Data points dropped because the spool was over its byte cap or unwritable.",
        labels=("agent",),
        otel_name="continuum.agent.dropped.points",
    ),
    Series(
        "continuum_agent_export_errors_total",
        SeriesType.COUNTER,
        "",
        "Failed attempts to encode an export or to deliver it to Kafka.",
        labels=("agent",),
        otel_name="continuum.agent.export.errors",
    ),
    Series(
        "continuum_agent_exported_points_total",
        SeriesType.COUNTER,
        "",
        "Data points queued for Kafka (delivered or still waiting).",
        labels=("agent",),
        otel_name="continuum.agent.exported.points",
    ),
    Series(
        "continuum_agent_delivered_points_total",
        SeriesType.COUNTER,
        "",
        "Data points acknowledged by Kafka.",
        labels=("agent",),
        otel_name="continuum.agent.delivered.points",
    ),
    Series(
        "continuum_agent_collector_up",
        SeriesType.GAUGE,
        "",
        "1 when the collector, hardware source or probe kind delivered in the last cycle, else "
        "0; reason says why (ok, failed, timeout, not_permitted, absent, disabled, "
        "not_installed).",
        labels=("agent", "collector", "reason"),
        otel_name="continuum.agent.collector.up",
    ),
)
