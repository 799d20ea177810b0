"""Series of the container agent (cgroups), as translated from its OTel instruments.

Every series but ``continuum_containers`` carries the container identity labels
(``container_id``, ``container``, ``pod``, ``namespace``; see ``CONTAINER_IDENTITY_LABELS``)
plus :data:`CONTAINER_LABELS`, where known. Per-pod figures are sums by ``pod``, e.g.::

    sum by (namespace, pod) (rate(container_cpu_time_seconds_total{node="edge-01"}[1m]))
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

#: Labels of every container series beyond the identity labels (empty when not known).
CONTAINER_LABELS: tuple[str, ...] = (
    "container_image_name",
    "container_runtime",
    "k8s_pod_uid",
    "k8s_pod_qos_class",
    # A workflow task's container: its run and task (labels continuum.workflow, continuum.task).
    "workflow",
    "task",
)
_DISK = (*CONTAINER_LABELS, "disk_io_direction")
_NET = (*CONTAINER_LABELS, "network_interface_name", "network_io_direction")

_G, _C = SeriesType.GAUGE, SeriesType.COUNTER


def _series(
    name: str,
    kind: SeriesType,
    unit: str,
    help_text: str,
    otel_name: str,
    labels: tuple[str, ...] = CONTAINER_LABELS,
) -> Series:
    return Series(name, kind, unit, help_text, labels, otel_name, source="containers")


CONTAINER_SERIES: tuple[Series, ...] = (
    _series(
        "container_cpu_time_seconds_total",
        _C,
        "seconds",
        "CPU time consumed by the container, by mode.",
        "container.cpu.time",
        (*CONTAINER_LABELS, "cpu_mode"),
    ),
    _series(
        "continuum_container_cpu_periods_total",
        _C,
        "",
        "CFS enforcement periods that elapsed.",
        "continuum.container.cpu.periods",
    ),
    _series(
        "continuum_container_cpu_throttled_periods_total",
        _C,
        "",
        "CFS periods in which the container was throttled.",
        "continuum.container.cpu.throttled.periods",
    ),
    _series(
        "continuum_container_cpu_throttled_time_seconds_total",
        _C,
        "seconds",
        "Time the container spent throttled by its quota.",
        "continuum.container.cpu.throttled.time",
    ),
    _series(
        "container_memory_usage_bytes",
        _G,
        "bytes",
        "Memory charged to the container, page cache included.",
        "container.memory.usage",
    ),
    _series(
        "container_memory_working_set_bytes",
        _G,
        "bytes",
        "Memory usage minus inactive file cache (the working set).",
        "container.memory.working_set",
    ),
    _series(
        "container_memory_rss_bytes",
        _G,
        "bytes",
        "Anonymous memory of the container (RSS).",
        "container.memory.rss",
    ),
    _series(
        "continuum_container_memory_cache_bytes",
        _G,
        "bytes",
        "Page cache charged to the container.",
        "continuum.container.memory.cache",
    ),
    _series(
        "continuum_container_memory_swap_bytes",
        _G,
        "bytes",
        "Swap used by the container.",
        "continuum.container.memory.swap",
    ),
    _series(
        "continuum_container_memory_limit_bytes",
        _G,
        "bytes",
        "Memory limit of the container, when it has one.",
        "continuum.container.memory.limit",
    ),
    _series(
        "continuum_container_memory_oom_kills_total",
        _C,
        "",
        "Processes of the container killed by the OOM killer.",
        "continuum.container.memory.oom_kills",
    ),
    _series(
        "continuum_container_pressure_stall_time_seconds_total",
        _C,
        "seconds",
        "Time tasks of the container stalled on a resource (PSI), by resource and level.",
        "continuum.container.pressure.stall.time",
        (*CONTAINER_LABELS, "pressure_resource", "pressure_level"),
    ),
    _series(
        "container_disk_io_bytes_total",
        _C,
        "bytes",
        "Bytes read and written to block devices, by direction.",
        "container.disk.io",
        _DISK,
    ),
    _series(
        "continuum_container_disk_operations_total",
        _C,
        "",
        "Block device operations, by direction.",
        "continuum.container.disk.operations",
        _DISK,
    ),
    _series(
        "container_network_io_bytes_total",
        _C,
        "bytes",
        "Bytes through each interface of the container's network namespace.",
        "container.network.io",
        _NET,
    ),
    _series(
        "continuum_container_network_packets_total",
        _C,
        "",
        "Packets through each interface, by direction.",
        "continuum.container.network.packets",
        _NET,
    ),
    _series(
        "continuum_container_network_errors_total",
        _C,
        "",
        "Packet errors on each interface, by direction.",
        "continuum.container.network.errors",
        _NET,
    ),
    _series(
        "continuum_container_network_dropped_total",
        _C,
        "",
        "Packets dropped on each interface, by direction.",
        "continuum.container.network.dropped",
        _NET,
    ),
    _series(
        "continuum_container_pids",
        _G,
        "",
        "Tasks (processes and threads) in the container.",
        "continuum.container.pids",
    ),
    _series(
        "continuum_container_pids_limit",
        _G,
        "",
        "Task limit of the container, when it has one.",
        "continuum.container.pids.limit",
    ),
    _series(
        "continuum_containers",
        _G,
        "",
        "Containers found in the last cycle.",
        "continuum.containers",
        (),
    ),
)
