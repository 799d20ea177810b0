"""Series of the node agent (host telemetry), as translated from its OTel instruments."""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

NODE_SERIES: tuple[Series, ...] = (
    Series(
        "system_cpu_utilization",
        SeriesType.GAUGE,
        "ratio",
        "Fraction of CPU capacity spent in each mode over the last interval, all CPUs together.",
        labels=("cpu_mode",),
        otel_name="system.cpu.utilization",
    ),
    Series(
        "system_cpu_logical_count",
        SeriesType.GAUGE,
        "",
        "Number of logical CPUs.",
        otel_name="system.cpu.logical.count",
    ),
    Series(
        "system_memory_usage_bytes",
        SeriesType.GAUGE,
        "bytes",
        "Memory in use, by state.",
        labels=("system_memory_state",),
        otel_name="system.memory.usage",
    ),
    Series(
        "system_memory_limit_bytes",
        SeriesType.GAUGE,
        "bytes",
        "Total physical memory.",
        otel_name="system.memory.limit",
    ),
    Series(
        "system_cpu_load_average_1m",
        SeriesType.GAUGE,
        "",
        "Load average over one minute.",
        otel_name="system.cpu.load_average.1m",
    ),
    Series(
        "system_cpu_load_average_5m",
        SeriesType.GAUGE,
        "",
        "Load average over five minutes.",
        otel_name="system.cpu.load_average.5m",
    ),
    Series(
        "system_cpu_load_average_15m",
        SeriesType.GAUGE,
        "",
        "Load average over fifteen minutes.",
        otel_name="system.cpu.load_average.15m",
    ),
)
