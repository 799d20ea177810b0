"""The container agent's instruments and how one container's counters become readings.

OTel semantic-convention names where they exist (``container.cpu.time``,
``container.memory.usage``, ``container.memory.working_set``, ``container.memory.rss``,
``container.disk.io``, ``container.network.io``), ``continuum.container.*`` otherwise::

    readings = sample_readings(sample)     # [Reading("container.cpu.time", 1.5, {...}), ...]
"""

from __future__ import annotations

from collections.abc import Mapping

from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents.containers._collector import ContainerSample, ContainerScanner

__all__ = [
    "CONTAINER_COUNT",
    "INSTRUMENTS",
    "PROMETHEUS_KEYS",
    "ContainersCollector",
    "point_attributes",
    "sample_readings",
]

_C, _G = InstrumentKind.COUNTER, InstrumentKind.GAUGE

CPU_TIME = "container.cpu.time"
CPU_PERIODS = "continuum.container.cpu.periods"
CPU_THROTTLED_PERIODS = "continuum.container.cpu.throttled.periods"
CPU_THROTTLED_TIME = "continuum.container.cpu.throttled.time"
MEMORY_USAGE = "container.memory.usage"
MEMORY_WORKING_SET = "container.memory.working_set"
MEMORY_RSS = "container.memory.rss"
MEMORY_CACHE = "continuum.container.memory.cache"
MEMORY_SWAP = "continuum.container.memory.swap"
MEMORY_LIMIT = "continuum.container.memory.limit"
MEMORY_OOM_KILLS = "continuum.container.memory.oom_kills"
PRESSURE_STALL = "continuum.container.pressure.stall.time"
DISK_IO = "container.disk.io"
DISK_OPERATIONS = "continuum.container.disk.operations"
NETWORK_IO = "container.network.io"
NETWORK_PACKETS = "continuum.container.network.packets"
NETWORK_ERRORS = "continuum.container.network.errors"
NETWORK_DROPPED = "continuum.container.network.dropped"
PIDS_COUNT = "continuum.container.pids"
PIDS_LIMIT = "continuum.container.pids.limit"
CONTAINER_COUNT = "continuum.containers"

INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    InstrumentSpec(CPU_TIME, _C, "s", "CPU time consumed by the container, by mode."),
    InstrumentSpec(CPU_PERIODS, _C, "{period}", "CFS enforcement periods that elapsed."),
    InstrumentSpec(
        CPU_THROTTLED_PERIODS, _C, "{period}", "CFS periods in which the container was throttled."
    ),
    InstrumentSpec(CPU_THROTTLED_TIME, _C, "s", "Time the container spent throttled by its quota."),
    InstrumentSpec(MEMORY_USAGE, _G, "By", "Memory charged to the container, page cache included."),
    InstrumentSpec(
        MEMORY_WORKING_SET, _G, "By", "Memory usage minus inactive file cache (the working set)."
    ),
    InstrumentSpec(MEMORY_RSS, _G, "By", "Anonymous memory of the container (RSS)."),
    InstrumentSpec(MEMORY_CACHE, _G, "By", "Page cache charged to the container."),
    InstrumentSpec(MEMORY_SWAP, _G, "By", "Swap used by the container."),
    InstrumentSpec(MEMORY_LIMIT, _G, "By", "Memory limit of the container, when it has one."),
    InstrumentSpec(
        MEMORY_OOM_KILLS, _C, "{kill}", "Processes of the container killed by the OOM killer."
    ),
    InstrumentSpec(
        PRESSURE_STALL,
        _C,
        "s",
        "Time tasks of the container stalled on a resource (PSI), by resource and level.",
    ),
    InstrumentSpec(DISK_IO, _C, "By", "Bytes read and written to block devices, by direction."),
    InstrumentSpec(DISK_OPERATIONS, _C, "{operation}", "Block device operations, by direction."),
    InstrumentSpec(
        NETWORK_IO, _C, "By", "Bytes through each interface of the container's network namespace."
    ),
    InstrumentSpec(
        NETWORK_PACKETS, _C, "{packet}", "Packets through each interface, by direction."
    ),
    InstrumentSpec(NETWORK_ERRORS, _C, "{error}", "Packet errors on each interface, by direction."),
    InstrumentSpec(
        NETWORK_DROPPED, _C, "{packet}", "Packets dropped on each interface, by direction."
    ),
    InstrumentSpec(PIDS_COUNT, _G, "{task}", "Tasks (processes and threads) in the container."),
    InstrumentSpec(PIDS_LIMIT, _G, "{task}", "Task limit of the container, when it has one."),
    InstrumentSpec(CONTAINER_COUNT, _G, "{container}", "Containers found in the last cycle."),
)

#: Identity attributes whose Prometheus label is not the plain translation of the semconv key:
#: docs/contracts.md §3.1 names the labels ``container``, ``pod`` and ``namespace`` (as cAdvisor and
#: the kubelet do), so the data points carry those keys and both delivery paths, which
#: translate keys the standard way, give the same labels.
PROMETHEUS_KEYS: Mapping[str, str] = {
    "container.name": "container",
    "k8s.pod.name": "pod",
    "k8s.namespace.name": "namespace",
}


def point_attributes(identity: Mapping[str, str]) -> dict[str, str]:
    """The data point attributes of a container, from its semconv identity."""
    return {PROMETHEUS_KEYS.get(key, key): value for key, value in identity.items()}


def sample_readings(sample: ContainerSample) -> list[Reading]:
    """Every reading of one container (instruments the node does not expose are left out)."""
    base = point_attributes(sample.attributes)
    stats = sample.stats
    out: list[Reading] = []
    add = out.append
    if stats.cpu_user_s is not None:
        add(Reading(CPU_TIME, stats.cpu_user_s, {**base, "cpu.mode": "user"}))
    if stats.cpu_system_s is not None:
        add(Reading(CPU_TIME, stats.cpu_system_s, {**base, "cpu.mode": "system"}))
    for name, value in (
        (CPU_PERIODS, stats.cpu_periods),
        (CPU_THROTTLED_PERIODS, stats.cpu_throttled_periods),
        (CPU_THROTTLED_TIME, stats.cpu_throttled_s),
        (MEMORY_USAGE, stats.memory_usage_bytes),
        (MEMORY_WORKING_SET, stats.memory_working_set_bytes),
        (MEMORY_RSS, stats.memory_rss_bytes),
        (MEMORY_CACHE, stats.memory_cache_bytes),
        (MEMORY_SWAP, stats.memory_swap_bytes),
        (MEMORY_LIMIT, stats.memory_limit_bytes),
        (MEMORY_OOM_KILLS, stats.memory_oom_kills),
        (PIDS_COUNT, stats.pids_count),
        (PIDS_LIMIT, stats.pids_limit),
    ):
        if value is not None:
            add(Reading(name, value, base))
    for (resource, level), stall_s in stats.pressure_stall_s.items():
        attributes = {**base, "pressure.resource": resource, "pressure.level": level}
        add(Reading(PRESSURE_STALL, stall_s, attributes))
    for name, read, write in (
        (DISK_IO, stats.disk_read_bytes, stats.disk_write_bytes),
        (DISK_OPERATIONS, stats.disk_read_ops, stats.disk_write_ops),
    ):
        if read is not None and write is not None:
            add(Reading(name, read, {**base, "disk.io.direction": "read"}))
            add(Reading(name, write, {**base, "disk.io.direction": "write"}))
    for interface, counters in stats.network.items():
        receive = {**base, "network.interface.name": interface, "network.io.direction": "receive"}
        transmit = {**receive, "network.io.direction": "transmit"}
        add(Reading(NETWORK_IO, counters.receive_bytes, receive))
        add(Reading(NETWORK_IO, counters.transmit_bytes, transmit))
        add(Reading(NETWORK_PACKETS, counters.receive_packets, receive))
        add(Reading(NETWORK_PACKETS, counters.transmit_packets, transmit))
        add(Reading(NETWORK_ERRORS, counters.receive_errors, receive))
        add(Reading(NETWORK_ERRORS, counters.transmit_errors, transmit))
        add(Reading(NETWORK_DROPPED, counters.receive_dropped, receive))
        add(Reading(NETWORK_DROPPED, counters.transmit_dropped, transmit))
    return out


class ContainersCollector:
    """The container agent's collector for the shared runner (``agents._otel``).

    Args:
        collector: discovers and reads the containers.
    """

    name = "containers"
    instruments: tuple[InstrumentSpec, ...] = INSTRUMENTS

    def __init__(self, collector: ContainerScanner) -> None:
        self.collector = collector

    def collect(self) -> list[Reading]:
        """One cycle: every container's readings plus the container count."""
        samples = self.collector.collect()
        readings = [Reading(CONTAINER_COUNT, len(samples))]
        for sample in samples:
            readings.extend(sample_readings(sample))
        return readings
