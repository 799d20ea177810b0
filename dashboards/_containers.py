"""Containers: per-container CPU, memory, IO, network and pressure (variables ``node``, ``pod``)."""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Query, Row, Variable, needing, stat, timeseries

__all__ = ["CONTAINERS"]

_C = '{node="$node", pod=~"$pod"}'
_RATE = "[$__rate_interval]"
_WHO = "{{namespace}}/{{pod}}/{{container}}"


def _per_container(name: str) -> Query:
    return Query(f"sum by (namespace, pod, container) ({name}{_C})", _WHO)


def _rate_per_container(name: str, extra_by: str = "", legend: str = _WHO) -> Query:
    by = f"namespace, pod, container{extra_by}"
    return Query(f"sum by ({by}) (rate({name}{_C}{_RATE}))", legend)


_SUMMARY = Row(
    "Containers on $node",
    (
        stat("Containers", 'sum(continuum_containers{node="$node"})'),
        stat(
            "CPU cores used",
            f"sum(rate(container_cpu_time_seconds_total{_C}{_RATE}))",
            description="CPU seconds per second of the selected containers.",
        ),
        stat(
            "Working set",
            f"sum(container_memory_working_set_bytes{_C})",
            unit="bytes",
            description="Memory the kernel would not reclaim: what OOM decisions look at.",
        ),
        stat("Processes", f"sum(continuum_container_pids{_C})"),
        stat(
            "OOM kills",
            f"sum(increase(continuum_container_memory_oom_kills_total{_C}[1h]))",
            description="Out-of-memory kills in the last hour.",
        ),
    ),
)

_CPU_MEMORY = Row(
    "CPU and memory",
    (
        timeseries(
            "CPU cores used",
            _rate_per_container("container_cpu_time_seconds_total"),
            description="User plus system CPU seconds per second.",
        ),
        timeseries(
            "CPU throttled",
            Query(
                "sum by (namespace, pod, container) "
                f"(rate(continuum_container_cpu_throttled_time_seconds_total{_C}{_RATE}))",
                _WHO,
            ),
            unit="s",
            description="Seconds per second the CFS quota held the container back.",
        ),
        timeseries(
            "Memory working set",
            _per_container("container_memory_working_set_bytes"),
            unit="bytes",
        ),
        timeseries(
            "Memory: RSS, cache, limit",
            _per_container("container_memory_rss_bytes"),
            _per_container("continuum_container_memory_cache_bytes"),
            _per_container("continuum_container_memory_limit_bytes"),
            unit="bytes",
            description="Resident memory, page cache and the limit (absent when unlimited).",
        ),
    ),
)

_IO = Row(
    "IO, network and pressure",
    (
        timeseries(
            "Disk IO",
            _rate_per_container(
                "container_disk_io_bytes_total",
                ", disk_io_direction",
                f"{_WHO} {{{{disk_io_direction}}}}",
            ),
            unit="Bps",
        ),
        timeseries(
            "Network",
            _rate_per_container(
                "container_network_io_bytes_total",
                ", network_io_direction",
                f"{_WHO} {{{{network_io_direction}}}}",
            ),
            unit="Bps",
        ),
        timeseries(
            "Pressure stall (PSI)",
            _rate_per_container(
                "continuum_container_pressure_stall_time_seconds_total",
                ", pressure_resource",
                f"{_WHO} {{{{pressure_resource}}}}",
            ),
            unit="percentunit",
            description="Share of time the container's tasks stalled on CPU, memory or IO.",
        ),
        timeseries(
            "Processes",
            _per_container("continuum_container_pids"),
            _per_container("continuum_container_pids_limit"),
        ),
    ),
)

# Every series here exists only where containers run: a plain host says so on each panel.
CONTAINERS = needing(
    "containers",
    DashboardSpec(
        uid="continuum-containers",
        title="Continuum containers",
        description="Per-container and per-pod CPU, memory, IO, network and pressure from cgroups.",
        rows=(_SUMMARY, _CPU_MEMORY, _IO),
        variables=(
            Variable("node", "node", "continuum_containers", "Node"),
            Variable(
                "pod",
                "pod",
                'container_memory_working_set_bytes{node="$node"}',
                "Pod",
                include_all=True,
            ),
        ),
    ),
)
