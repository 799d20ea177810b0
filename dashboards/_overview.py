"""Continuum overview: the whole fleet at a glance, by tier and site.

Built on the recording rules of ``deploy/prometheus/rules`` and the per-node aggregates the
pipeline writes, so it stays cheap whatever the fleet size.
"""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row, stat, timeseries, top

__all__ = ["OVERVIEW"]

_MEMORY_IN_USE = (
    "1 - continuum:node_memory_available_bytes:min1m"
    " / on (node, tier, site) continuum:node_memory_bytes"
)

_FLEET = Row(
    "Fleet",
    (
        stat(
            "Nodes reporting",
            "sum(continuum:tier_nodes:count)",
            description="Nodes whose aggregates reached Prometheus in the last five minutes.",
        ),
        stat(
            "Nodes up",
            "sum(continuum:node_up)",
            description="Nodes whose telemetry is under a minute old.",
        ),
        stat(
            "Availability",
            "avg(continuum:node_up)",
            unit="percentunit",
            description="Share of the nodes seen in the last hour that are up now.",
        ),
        stat("CPU cores", "sum(continuum:tier_cpu_cores:sum)"),
        stat("Memory", "sum(continuum:tier_memory_bytes:sum)", unit="bytes"),
        stat("GPUs", "sum(continuum:tier_gpus:sum)"),
    ),
)

_PLACES = Row(
    "Tiers and sites",
    (
        Panel(
            "Nodes per tier and site",
            (
                Query("continuum:site_nodes:count", "{{tier}}/{{site}} reporting"),
                Query("continuum:site_nodes_fresh:count", "{{tier}}/{{site}} fresh"),
            ),
            kind=PanelKind.BARGAUGE,
            description="Reporting: aggregates in the last 5 min. Fresh: under a minute old.",
        ),
        timeseries(
            "Availability by tier",
            Query("continuum:tier_availability:ratio", "{{tier}}"),
            unit="percentunit",
            description="Share of each tier's known nodes that are up.",
        ),
        Panel(
            "Capacity by site",
            (
                Query("continuum:site_cpu_cores:sum", "{{tier}}/{{site}} cores", instant=True),
                Query("continuum:site_memory_bytes:sum", "{{tier}}/{{site}} memory", instant=True),
                Query("continuum:site_gpus:sum", "{{tier}}/{{site}} GPUs", instant=True),
            ),
            kind=PanelKind.TABLE,
            width=24,
            height=6,
        ),
    ),
)

_UTILISATION = Row(
    "Utilisation",
    (
        Panel(
            "CPU busy by node",
            (Query("continuum:node_cpu_utilization:avg1m", "{{node}}"),),
            kind=PanelKind.HEATMAP,
            unit="percentunit",
            description="One-minute mean CPU busy fraction of every node.",
        ),
        Panel(
            "Memory in use by node",
            (Query(_MEMORY_IN_USE, "{{node}}"),),
            kind=PanelKind.HEATMAP,
            unit="percentunit",
            description="Share of memory in use at the node's one-minute low of available memory.",
        ),
        timeseries(
            "CPU busy by tier",
            Query("continuum:tier_cpu_utilization:avg1m", "{{tier}} mean"),
            Query("continuum:tier_cpu_utilization:max1m", "{{tier}} busiest node"),
            unit="percentunit",
        ),
        timeseries(
            "Memory in use by tier",
            Query("continuum:tier_memory_utilization:max1m", "{{tier}}"),
            unit="percentunit",
        ),
    ),
)

_PRESSURE = Row(
    "Pressure and traffic",
    (
        top(
            "Top CPU pressure",
            "continuum:node_pressure_cpu:rate1m",
            unit="percentunit",
            description="Share of time some task waited for a CPU (PSI), worst ten nodes.",
        ),
        top(
            "Top memory pressure",
            "continuum:node_pressure_memory:rate1m",
            unit="percentunit",
            description="Share of time some task stalled on memory (PSI), worst ten nodes.",
        ),
        top(
            "Top IO pressure",
            "continuum:node_pressure_io:rate1m",
            unit="percentunit",
            description="Share of time some task stalled on IO (PSI), worst ten nodes.",
        ),
        timeseries(
            "Network by tier",
            Query("continuum:tier_network_receive_bytes:rate1m", "{{tier}} in"),
            Query("continuum:tier_network_transmit_bytes:rate1m", "{{tier}} out"),
            unit="Bps",
            width=24,
        ),
    ),
)

OVERVIEW = DashboardSpec(
    uid="continuum-overview",
    title="Continuum overview",
    description="Nodes per tier and site, availability, utilisation and pressure of the fleet.",
    rows=(_FLEET, _PLACES, _UTILISATION, _PRESSURE),
)
