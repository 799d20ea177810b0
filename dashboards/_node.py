"""Node detail: one node's capacity, CPU, memory, network and pressure (variable ``node``)."""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row, Variable

__all__ = ["NODE_DETAIL"]

_N = '{node="$node"}'
_STAT = PanelKind.STAT

_CAPACITY = Row(
    "Capacity and freshness",
    (
        Panel("CPU cores", (Query(f"continuum:node_cpu_cores{_N}"),), kind=_STAT, width=4),
        Panel(
            "Memory",
            (Query(f"continuum:node_memory_bytes{_N}"),),
            kind=_STAT,
            unit="bytes",
            width=4,
        ),
        Panel("GPUs", (Query(f"continuum:node_gpus{_N}"),), kind=_STAT, width=4),
        Panel(
            "Up",
            (Query(f"continuum:node_up{_N}"),),
            kind=_STAT,
            description="1 while the node's telemetry is under a minute old.",
            width=4,
        ),
        Panel(
            "Telemetry age",
            (Query(f"continuum:node_telemetry_age_seconds{_N}"),),
            kind=_STAT,
            unit="s",
            description="Seconds since the node's latest aggregate reached Prometheus.",
            width=8,
        ),
    ),
)

_CPU = Row(
    "CPU",
    (
        Panel(
            "CPU time by mode",
            (Query(f"system_cpu_utilization{_N}", "{{cpu_mode}}"),),
            unit="percentunit",
            description="Share of the node's CPU capacity in each mode; modes sum to one.",
        ),
        Panel(
            "CPU busy: mean, spread, peak",
            (
                Query(f"continuum:node_cpu_utilization:avg1m{_N}", "mean 1m"),
                Query(f"continuum:node_cpu_utilization:avg5m{_N}", "mean 5m"),
                Query(f"continuum:node_cpu_utilization:stddev5m{_N}", "stddev 5m"),
                Query(f"continuum:node_cpu_utilization:max1m{_N}", "max 1m"),
            ),
            unit="percentunit",
            description="What the scheduler ranks on: headroom and its variability.",
        ),
        Panel(
            "Load average",
            (
                Query(f"system_cpu_load_average_1m{_N}", "1m"),
                Query(f"system_cpu_load_average_5m{_N}", "5m"),
                Query(f"system_cpu_load_average_15m{_N}", "15m"),
                Query(f"system_cpu_logical_count{_N}", "logical CPUs"),
            ),
            description="Runnable and uninterruptible threads, against the CPU count.",
        ),
        Panel(
            "CPU seconds per second by mode",
            (
                Query(
                    f"sum by (cpu_mode) (rate(system_cpu_time_seconds_total{_N}"
                    "[$__rate_interval]))",
                    "{{cpu_mode}}",
                ),
            ),
            description="From the per-CPU counters: how many CPUs' worth of time each mode took.",
        ),
    ),
)

_MEMORY = Row(
    "Memory",
    (
        Panel(
            "Memory by state",
            (
                Query(f"system_memory_usage_bytes{_N}", "{{system_memory_state}}"),
                Query(f"system_memory_limit_bytes{_N}", "total"),
            ),
            unit="bytes",
        ),
        Panel(
            "Available memory",
            (
                Query(f"system_linux_memory_available_bytes{_N}", "available"),
                Query(f"continuum:node_memory_available_bytes:min1m{_N}", "low 1m"),
                Query(f"continuum:node_memory_available_bytes:avg5m{_N}", "mean 5m"),
            ),
            unit="bytes",
            description="MemAvailable: what new work can get without swapping.",
        ),
    ),
)

_NETWORK_AND_PRESSURE = Row(
    "Network and pressure",
    (
        Panel(
            "Network by interface",
            (
                Query(
                    f"rate(system_network_io_bytes_total{_N}[$__rate_interval])",
                    "{{network_interface_name}} {{network_io_direction}}",
                ),
            ),
            unit="Bps",
        ),
        Panel(
            "Pressure stall (PSI)",
            (
                Query(
                    f"rate(continuum_pressure_stall_time_seconds_total{_N}[$__rate_interval])",
                    "{{pressure_resource}} {{pressure_scope}}",
                ),
            ),
            unit="percentunit",
            description="Share of time some (or all) tasks stalled waiting for the resource.",
        ),
        Panel(
            "Pressure, one-minute aggregates",
            (
                Query(f"continuum:node_pressure_cpu:rate1m{_N}", "cpu"),
                Query(f"continuum:node_pressure_memory:rate1m{_N}", "memory"),
                Query(f"continuum:node_pressure_io:rate1m{_N}", "io"),
            ),
            unit="percentunit",
        ),
        Panel(
            "Network, one-minute aggregates",
            (
                Query(f"continuum:node_network_receive_bytes:rate1m{_N}", "in"),
                Query(f"continuum:node_network_transmit_bytes:rate1m{_N}", "out"),
            ),
            unit="Bps",
        ),
    ),
)

NODE_DETAIL = DashboardSpec(
    uid="continuum-node",
    title="Continuum node detail",
    description="One node: capacity, freshness, CPU, memory, network and pressure.",
    rows=(_CAPACITY, _CPU, _MEMORY, _NETWORK_AND_PRESSURE),
    variables=(Variable("node", "node", "continuum:node_cpu_cores", "Node"),),
)
