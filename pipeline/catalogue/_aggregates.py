"""Per-node aggregates the pipeline computes over sliding windows (docs/contracts.md §3.4).

Named in the recording-rule style ``level:metric:operation``. The scheduler API reads these, not
the raw series, so its snapshot is a handful of queries whatever the fleet size.
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

_G = SeriesType.GAUGE


def _agg(name: str, unit: str, help_text: str) -> Series:
    return Series(name, _G, unit, help_text, source="pipeline")


AGGREGATE_SERIES: tuple[Series, ...] = (
    _agg("continuum:node_cpu_cores", "", "Logical CPU cores of the node."),
    _agg("continuum:node_memory_bytes", "bytes", "Physical memory of the node."),
    _agg("continuum:node_gpus", "", "GPUs of the node."),
    _agg(
        "continuum:node_cpu_utilization:avg1m",
        "ratio",
        "Mean busy fraction of the node's CPUs over the last minute.",
    ),
    _agg(
        "continuum:node_cpu_utilization:avg5m",
        "ratio",
        "Mean busy fraction of the node's CPUs over the last five minutes.",
    ),
    _agg(
        "continuum:node_cpu_utilization:stddev5m",
        "ratio",
        "Standard deviation of the node's CPU busy fraction over the last five minutes.",
    ),
    _agg(
        "continuum:node_cpu_utilization:max1m",
        "ratio",
        "Highest CPU busy fraction of the node seen in the last minute.",
    ),
    _agg(
        "continuum:node_cpu_steal:avg1m",
        "ratio",
        "Mean fraction of the node's CPU time stolen by its hypervisor over the last minute.",
    ),
    Series(
        "continuum:node_data_path_available_bytes",
        _G,
        "bytes",
        "Bytes tasks may still write on the node's data path (labelled data_path).",
        labels=("data_path",),
        source="pipeline",
    ),
    Series(
        "continuum:node_power_watts",
        _G,
        "watts",
        "Measured power of the node: RAPL, else hwmon, else its power supply, plus its GPUs "
        "(labelled power_source).",
        labels=("power_source",),
        source="pipeline",
    ),
    _agg(
        "continuum:node_power_idle_watts:fit1h",
        "watts",
        "Idle power of the node: intercept of the least-squares line of its measured power "
        "against CPU utilisation over the last hour.",
    ),
    _agg(
        "continuum:node_power_slope_watts:fit1h",
        "watts",
        "Power from idle to fully busy: slope of that line (watts per unit of utilisation).",
    ),
    _agg(
        "continuum:node_power_fit_samples:fit1h",
        "",
        "Samples of the last hour the power line was fitted to.",
    ),
    _agg(
        "continuum:node_power_residual_watts:fit1h",
        "watts",
        "Root-mean-square residual of the power line.",
    ),
    _agg(
        "continuum:node_memory_available_bytes:min1m",
        "bytes",
        "Lowest available memory of the node in the last minute.",
    ),
    _agg(
        "continuum:node_memory_available_bytes:avg5m",
        "bytes",
        "Mean available memory of the node over the last five minutes.",
    ),
    _agg(
        "continuum:node_network_receive_bytes:rate1m",
        "bytes",
        "Bytes per second received by the node over the last minute, all interfaces but lo.",
    ),
    _agg(
        "continuum:node_network_transmit_bytes:rate1m",
        "bytes",
        "Bytes per second sent by the node over the last minute, all interfaces but lo.",
    ),
    _agg(
        "continuum:node_pressure_cpu:rate1m",
        "ratio",
        "Fraction of time some tasks stalled on CPU over the last minute (PSI).",
    ),
    _agg(
        "continuum:node_pressure_memory:rate1m",
        "ratio",
        "Fraction of time some tasks stalled on memory over the last minute (PSI).",
    ),
    _agg(
        "continuum:node_pressure_io:rate1m",
        "ratio",
        "Fraction of time some tasks stalled on IO over the last minute (PSI).",
    ),
)
