"""Series of the Prometheus recording rules in deploy/prometheus (fleet roll-ups).

The rules in ``deploy/prometheus/rules/continuum-recording.yml`` write exactly these names; a test
checks both directions. Roll-ups are built from the per-node aggregates the pipeline writes
(``continuum:node_*``), so a fleet of any size costs a handful of series per tier and site.
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

_G = SeriesType.GAUGE

# What each roll-up measures, once; the tier and site variants only differ in the grouping.
_ROLLUPS: tuple[tuple[str, str, str], ...] = (
    ("nodes:count", "", "Nodes that reported telemetry in the last five minutes"),
    ("nodes_fresh:count", "", "Nodes whose telemetry is under a minute old"),
    ("availability:ratio", "ratio", "Fraction of known nodes (seen in the last hour) that are up"),
    ("cpu_cores:sum", "", "Logical CPU cores"),
    ("memory_bytes:sum", "bytes", "Physical memory"),
    ("gpus:sum", "", "GPUs"),
    ("cpu_utilization:avg1m", "ratio", "Mean over nodes of the one-minute CPU busy fraction"),
    ("cpu_utilization:max1m", "ratio", "Highest one-minute CPU busy fraction of any node"),
    (
        "memory_utilization:max1m",
        "ratio",
        "Fraction of memory in use at the one-minute low of available memory",
    ),
    ("network_receive_bytes:rate1m", "bytes", "Bytes per second received, one-minute rate"),
    ("network_transmit_bytes:rate1m", "bytes", "Bytes per second sent, one-minute rate"),
    ("pressure_cpu:max1m", "ratio", "Highest CPU stall fraction (PSI some) of any node"),
    ("pressure_memory:max1m", "ratio", "Highest memory stall fraction (PSI some) of any node"),
    ("pressure_io:max1m", "ratio", "Highest IO stall fraction (PSI some) of any node"),
)


def _rollups(level: str, grouping: str) -> tuple[Series, ...]:
    return tuple(
        Series(
            f"continuum:{level}_{metric}",
            _G,
            unit,
            f"{help_text}, {grouping}.",
            source="rules",
        )
        for metric, unit, help_text in _ROLLUPS
    )


#: Per-node helpers the roll-ups and alerts are built on.
NODE_RULE_SERIES: tuple[Series, ...] = (
    Series(
        "continuum:node_telemetry_age_seconds",
        _G,
        "seconds",
        "Seconds since the node's latest aggregate was written (absent after five minutes).",
        source="rules",
    ),
    Series(
        "continuum:node_up",
        _G,
        "",
        "1 when the node's telemetry is under a minute old, 0 when a node seen in the last hour "
        "is silent.",
        source="rules",
    ),
)

#: What Prometheus writes for the alerting rules of deploy/prometheus/rules.
ALERT_SERIES: tuple[Series, ...] = (
    Series(
        "ALERTS",
        _G,
        "",
        "1 for every pending or firing alert, with the alert's labels.",
        labels=("alertname", "alertstate", "severity"),
        source="rules",
    ),
)

RULE_SERIES: tuple[Series, ...] = (
    NODE_RULE_SERIES
    + _rollups("tier", "by tier")
    + _rollups("site", "by tier and site")
    + ALERT_SERIES
)
