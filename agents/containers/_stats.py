"""The typed record one read of a container's groups yields."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ContainerStats", "InterfaceStats"]


@dataclass(slots=True)
class InterfaceStats:
    """Counters of one network interface in a container's network namespace."""

    receive_bytes: int = 0
    transmit_bytes: int = 0
    receive_packets: int = 0
    transmit_packets: int = 0
    receive_errors: int = 0
    transmit_errors: int = 0
    receive_dropped: int = 0
    transmit_dropped: int = 0


@dataclass(slots=True)
class ContainerStats:
    """What the kernel says about one container; ``None`` where the node does not expose it.

    Counters are cumulative since the group was created; gauges are current values.
    """

    cpu_user_s: float | None = None
    cpu_system_s: float | None = None
    cpu_periods: int | None = None
    cpu_throttled_periods: int | None = None
    cpu_throttled_s: float | None = None
    memory_usage_bytes: int | None = None
    memory_working_set_bytes: int | None = None
    memory_rss_bytes: int | None = None
    memory_cache_bytes: int | None = None
    memory_swap_bytes: int | None = None
    memory_limit_bytes: int | None = None
    memory_oom_kills: int | None = None
    #: (``cpu`` | ``memory`` | ``io``, ``some`` | ``full``) to total stall seconds.
    pressure_stall_s: dict[tuple[str, str], float] = field(default_factory=dict)
    disk_read_bytes: int | None = None
    disk_write_bytes: int | None = None
    disk_read_ops: int | None = None
    disk_write_ops: int | None = None
    #: Interface name to its counters; empty when the container shares the host's namespace.
    network: dict[str, InterfaceStats] = field(default_factory=dict)
    pids_count: int | None = None
    pids_limit: int | None = None
