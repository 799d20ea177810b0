"""The identity series: every node's resource attributes, as OpenTelemetry's ``target_info``."""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

IDENTITY_SERIES: tuple[Series, ...] = (
    Series(
        "target_info",
        SeriesType.INFO,
        "",
        "Always 1; its labels are the node's resource attributes beyond node, tier and site "
        "(host_name, host_arch, os_type, host_cpu_model_name, continuum_label_<key>).",
        labels=("host_name", "host_arch", "os_type", "host_cpu_model_name"),
        source="pipeline",
    ),
)
