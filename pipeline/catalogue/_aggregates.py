"""Per-node aggregates the pipeline computes over sliding windows (DESIGN.md §3.4)."""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

AGGREGATE_SERIES: tuple[Series, ...] = (
    Series(
        "continuum:node_cpu_cores",
        SeriesType.GAUGE,
        "",
        "Logical CPU cores of the node.",
        source="pipeline",
    ),
    Series(
        "continuum:node_memory_bytes",
        SeriesType.GAUGE,
        "bytes",
        "Physical memory of the node.",
        source="pipeline",
    ),
)
