"""Node detail: one node's capacity, CPU, memory, network, pressure, disks, GPUs, and the
measurements it cannot take, with why.

Templated by the variable ``node``.
"""

from __future__ import annotations

from dashboards._spec import (
    DashboardSpec,
    Panel,
    PanelKind,
    Query,
    Row,
    Variable,
    stat,
    timeseries,
)

__all__ = ["NODE_DETAIL"]

_N = '{node="$node"}'
_FS_USED = '{node="$node", system_filesystem_state="used"}'
_FS_FREE = '{node="$node", system_filesystem_state="free"}'
_GPU_HW = '{node="$node", hw_type="gpu"}'


def _node(name: str, legend: str = "") -> Query:
    return Query(f"{name}{_N}", legend)


_CAPACITY = Row(
    "Capacity and freshness",
    (
        stat("CPU cores", f"continuum:node_cpu_cores{_N}"),
        stat("Memory", f"continuum:node_memory_bytes{_N}", unit="bytes"),
        stat("GPUs", f"continuum:node_gpus{_N}"),
        stat(
            "Up",
            f"continuum:node_up{_N}",
            description="1 while the node's telemetry is under a minute old.",
        ),
        stat(
            "Telemetry age",
            f"continuum:node_telemetry_age_seconds{_N}",
            unit="s",
            description="Seconds since the node's latest aggregate reached Prometheus.",
            width=8,
        ),
    ),
)

_CPU = Row(
    "CPU",
    (
        timeseries(
            "CPU time by mode",
            _node("system_cpu_utilization", "{{cpu_mode}}"),
            unit="percentunit",
            description="Share of the node's CPU capacity in each mode; modes sum to one.",
        ),
        timeseries(
            "CPU busy: mean, spread, peak",
            _node("continuum:node_cpu_utilization:avg1m", "mean 1m"),
            _node("continuum:node_cpu_utilization:avg5m", "mean 5m"),
            _node("continuum:node_cpu_utilization:stddev5m", "stddev 5m"),
            _node("continuum:node_cpu_utilization:max1m", "max 1m"),
            unit="percentunit",
            description="What the scheduler ranks on: headroom and its variability.",
        ),
        timeseries(
            "Load average",
            _node("system_cpu_load_average_1m", "1m"),
            _node("system_cpu_load_average_5m", "5m"),
            _node("system_cpu_load_average_15m", "15m"),
            _node("continuum_node_logical_cpus", "logical CPUs"),
            description="Runnable and uninterruptible threads, against the CPU count.",
        ),
        timeseries(
            "CPU seconds per second by mode",
            Query(
                f"sum by (cpu_mode) (rate(system_cpu_time_seconds_total{_N}[$__rate_interval]))",
                "{{cpu_mode}}",
            ),
            description="From the per-CPU counters: how many CPUs' worth of time each mode took.",
        ),
    ),
)

_MEMORY = Row(
    "Memory",
    (
        timeseries(
            "Memory by state",
            _node("system_memory_usage_bytes", "{{system_memory_state}}"),
            _node("system_memory_limit_bytes", "total"),
            unit="bytes",
        ),
        timeseries(
            "Available memory",
            _node("system_linux_memory_available_bytes", "available"),
            _node("continuum:node_memory_available_bytes:min1m", "low 1m"),
            _node("continuum:node_memory_available_bytes:avg5m", "mean 5m"),
            unit="bytes",
            description="MemAvailable: what new work can get without swapping.",
        ),
    ),
)

_NETWORK_AND_PRESSURE = Row(
    "Network and pressure",
    (
        timeseries(
            "Network by interface",
            Query(
                f"rate(system_network_io_bytes_total{_N}[$__rate_interval])",
                "{{network_interface_name}} {{network_io_direction}}",
            ),
            unit="Bps",
        ),
        timeseries(
            "Pressure stall (PSI)",
            Query(
                f"rate(continuum_pressure_stall_time_seconds_total{_N}[$__rate_interval])",
                "{{pressure_resource}} {{pressure_scope}}",
            ),
            unit="percentunit",
            description="Share of time some (or all) tasks stalled waiting for the resource.",
        ),
        timeseries(
            "Pressure, one-minute aggregates",
            _node("continuum:node_pressure_cpu:rate1m", "cpu"),
            _node("continuum:node_pressure_memory:rate1m", "memory"),
            _node("continuum:node_pressure_io:rate1m", "io"),
            unit="percentunit",
        ),
        timeseries(
            "Network, one-minute aggregates",
            _node("continuum:node_network_receive_bytes:rate1m", "in"),
            _node("continuum:node_network_transmit_bytes:rate1m", "out"),
            unit="Bps",
        ),
    ),
)

_DISK = Row(
    "Disk and filesystems",
    (
        timeseries(
            "Filesystem used",
            Query(
                "sum by (system_filesystem_mountpoint) "
                f"(system_filesystem_usage_bytes{_FS_USED}) / "
                "sum by (system_filesystem_mountpoint) "
                f"(system_filesystem_limit_bytes{_N})",
                "{{system_filesystem_mountpoint}}",
            ),
            unit="percentunit",
        ),
        timeseries(
            "Filesystem free, and where the last 6 h trend leads in 4 h",
            Query(
                f"system_filesystem_usage_bytes{_FS_FREE}",
                "{{system_filesystem_mountpoint}} free",
            ),
            Query(
                f"predict_linear(system_filesystem_usage_bytes{_FS_FREE}[6h], 4 * 3600)",
                "{{system_filesystem_mountpoint}} in 4 h",
            ),
            unit="bytes",
            description="The filesystem-filling alert fires when the projection reaches zero.",
        ),
        timeseries(
            "Disk throughput",
            Query(
                f"rate(system_disk_io_bytes_total{_N}[$__rate_interval])",
                "{{system_device}} {{disk_io_direction}}",
            ),
            unit="Bps",
        ),
        timeseries(
            "Disk busy",
            Query(
                f"rate(system_disk_io_time_seconds_total{_N}[$__rate_interval])",
                "{{system_device}}",
            ),
            unit="percentunit",
            description="Share of time the device had IO in flight.",
        ),
    ),
)

_GPU = Row(
    "GPUs",
    (
        timeseries(
            "GPU utilisation",
            Query(f"hw_gpu_utilization{_N}", "GPU {{gpu_index}} {{hw_model}}", needs="gpu"),
            unit="percentunit",
        ),
        timeseries(
            "GPU memory",
            Query(f"hw_gpu_memory_usage_bytes{_N}", "GPU {{gpu_index}} used", needs="gpu"),
            Query(f"hw_gpu_memory_limit_bytes{_N}", "GPU {{gpu_index}} total", needs="gpu"),
            unit="bytes",
        ),
        timeseries(
            "GPU temperature",
            Query(f"hw_temperature_celsius{_GPU_HW}", "{{hw_name}}", needs="gpu"),
            unit="celsius",
        ),
        timeseries(
            "GPU power",
            Query(f"hw_power_watts{_GPU_HW}", "{{hw_name}}", needs="gpu"),
            unit="watt",
        ),
    ),
)

# No silent gaps: a kind of measurement the node cannot take shows here with the reason, instead
# of leaving its panels empty (docs/reliability.md, "No silent gaps").
_GAPS = Row(
    "Measurement sources",
    (
        Panel(
            "Sources and why not",
            (
                Query(
                    f"continuum_hw_source_available{_N}",
                    "{{continuum_hw_source}}: {{continuum_hw_source_state}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.TABLE,
            description=(
                "1 when the agent reads the source (RAPL energy, EDAC, SMART, ...), else 0 with "
                "the reason: absent (the node has none), not_installed, not_permitted (the "
                "agent's log says how to grant it), timeout, failed."
            ),
            width=12,
        ),
        Panel(
            "Probe kinds",
            (
                Query(
                    f"min by (probe_kind) (continuum_probe_success{_N})",
                    "{{probe_kind}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.TABLE,
            description=(
                "0 when a probe of that kind failed or may not run here: ICMP without a ping "
                "group reports failure reason not_permitted (ContinuumCollectorDown)."
            ),
            width=12,
        ),
        Panel(
            "Collectors and measurement kinds",
            (
                # Those that did not deliver (0) first.
                Query(
                    f"sort(continuum_agent_collector_up{_N})",
                    "{{agent}} {{collector}}: {{reason}}",
                    instant=True,
                ),
            ),
            kind=PanelKind.TABLE,
            description=(
                "continuum_agent_collector_up: 1 when each agent's collector, hardware source or "
                "probe kind delivered in its last cycle, else 0 with the reason (failed, timeout, "
                "not_permitted, absent, ...)."
            ),
            width=24,
        ),
        timeseries(
            "Collector failures and timeouts",
            Query(
                "sum by (agent, collector) "
                f"(increase(continuum_agent_collector_failures_total{_N}[$__rate_interval]))",
                "{{agent}} {{collector}} failed",
            ),
            Query(
                "sum by (agent, collector) "
                f"(increase(continuum_agent_collector_timeouts_total{_N}[$__rate_interval]))",
                "{{agent}} {{collector}} timed out",
            ),
            description=(
                "Runs of each agent's collectors that raised or overran their time budget; "
                "0 while every collector delivers (ContinuumCollectorDown)."
            ),
            width=24,
        ),
    ),
)

NODE_DETAIL = DashboardSpec(
    uid="continuum-node",
    title="Continuum node detail",
    description="One node: capacity, freshness, CPU, memory, network, pressure, disks, GPUs.",
    rows=(_CAPACITY, _CPU, _MEMORY, _NETWORK_AND_PRESSURE, _DISK, _GPU, _GAPS),
    variables=(Variable("node", "node", "continuum:node_cpu_cores", "Node"),),
)
