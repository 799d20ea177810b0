"""Read one container's counters from its cgroup files, v2 first, v1 where v2 lacks them.

Which files exist is settled once, when the container is first seen; each cycle then opens
only paths known to exist. On a hybrid node (v1 controllers plus a v2 hierarchy) CPU time and
pressure come from v2 and memory, block IO and pids from the v1 controllers::

    reader = GroupReader(group, proc_root=Path("/proc"), host_netns=host_netns_inode(...))
    stats = reader.read()     # None once the container is gone
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from agents.containers._discovery import ContainerGroup
from agents.containers._parse import (
    parse_blkio,
    parse_flat_keyed,
    parse_io_stat,
    parse_limit,
    parse_net_dev,
    parse_pressure,
)
from agents.containers._stats import ContainerStats

__all__ = ["GroupGoneError", "GroupReader", "host_netns_inode", "read_text"]

# A group being removed answers ENOENT (file gone) or ENODEV (kernfs node deactivated).
_GONE = (errno.ENOENT, errno.ENODEV)
_PRESSURE_RESOURCES = ("cpu", "memory", "io")
_READ_SIZE = 65536


class GroupGoneError(Exception):
    """The container's group disappeared while it was being read."""


def read_text(path: str) -> str:
    """Read a small kernel file in one system call (cgroup and procfs files are generated whole).

    Raises:
        GroupGoneError: the file no longer exists.
        OSError: any other read failure.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        if err.errno in _GONE:
            raise GroupGoneError(path) from err
        raise
    try:
        return os.read(fd, _READ_SIZE).decode("ascii", "replace")
    except OSError as err:
        if err.errno in _GONE:
            raise GroupGoneError(path) from err
        raise
    finally:
        os.close(fd)


def host_netns_inode(proc_root: Path) -> int | None:
    """The inode of the host's network namespace.

    That of pid 1 under ``proc_root``; where pid 1 is not inspectable (a sandboxed init), the
    agent's own, since the agent runs in the host's network namespace (``hostNetwork``).
    """
    for path in (proc_root / "1" / "ns" / "net", Path("/proc/self/ns/net")):
        try:
            return os.stat(path).st_ino
        except OSError:
            continue
    return None


def _existing(directory: str | None, name: str) -> str | None:
    if directory is None:
        return None
    path = f"{directory}/{name}"
    return path if os.path.exists(path) else None


class GroupReader:
    """Read one container's counters each cycle from paths settled at construction.

    Args:
        group: the container's groups.
        proc_root: procfs mount (network counters are read through one of the container's pids).
        host_netns: inode of the host's network namespace; a container sharing it reports no
            network counters (they would be the host's).
        net_exclude: interface names to leave out.
    """

    def __init__(
        self,
        group: ContainerGroup,
        proc_root: Path,
        host_netns: int | None,
        net_exclude: frozenset[str] = frozenset({"lo"}),
    ) -> None:
        self.group = group
        self._proc_root = str(proc_root)
        self._host_netns = host_netns
        self._net_exclude = net_exclude
        u = group.unified_dir
        v1 = group.v1_dirs
        self._cpu_stat_v2 = _existing(u, "cpu.stat")
        # v2's cpu.stat has throttling only where the cpu controller is enabled (cpu.max exists).
        self._throttle_in_v2 = _existing(u, "cpu.max") is not None
        self._cpu_stat_v1 = _existing(v1.get("cpu"), "cpu.stat")
        cpuacct = v1.get("cpuacct")
        self._cpuacct_user = _existing(cpuacct, "cpuacct.usage_user")
        self._cpuacct_sys = _existing(cpuacct, "cpuacct.usage_sys")
        self._cpuacct_stat = _existing(cpuacct, "cpuacct.stat")
        self._memory_v2 = _existing(u, "memory.current") is not None
        memory = u if self._memory_v2 else v1.get("memory")
        names = (
            ("memory.current", "memory.stat", "memory.max", "memory.swap.current", "memory.events")
            if self._memory_v2
            else (
                "memory.usage_in_bytes",
                "memory.stat",
                "memory.limit_in_bytes",
                "memory.memsw.usage_in_bytes",
                "memory.oom_control",
            )
        )
        self._mem_usage, self._mem_stat, self._mem_limit, self._mem_swap, self._mem_events = (
            _existing(memory, name) for name in names
        )
        self._pressure = [
            (resource, path)
            for resource in _PRESSURE_RESOURCES
            if (path := _existing(u, f"{resource}.pressure")) is not None
        ]
        self._io_stat = _existing(u, "io.stat")
        blkio = v1.get("blkio")
        self._blkio_bytes = _existing(
            blkio, "blkio.throttle.io_service_bytes_recursive"
        ) or _existing(blkio, "blkio.throttle.io_service_bytes")
        self._blkio_ops = _existing(blkio, "blkio.throttle.io_serviced_recursive") or _existing(
            blkio, "blkio.throttle.io_serviced"
        )
        pids = u if _existing(u, "pids.current") else v1.get("pids")
        self._pids_current = _existing(pids, "pids.current")
        self._pids_max = _existing(pids, "pids.max")
        procs_dirs = [u, *v1.values()]
        self._procs = next(
            (p for d in procs_dirs if (p := _existing(d, "cgroup.procs")) is not None), None
        )
        self._clk_tck = os.sysconf("SC_CLK_TCK")

    def paths(self) -> list[str]:
        """The cgroup files this reader reads each cycle (procfs files aside)."""
        candidates = [
            self._cpu_stat_v2,
            self._cpu_stat_v1 if not self._throttle_in_v2 else None,
            *(() if self._cpu_stat_v2 is not None else self._v1_cpu_paths()),
            self._mem_usage,
            self._mem_stat,
            self._mem_limit,
            self._mem_swap,
            self._mem_events,
            *(path for _, path in self._pressure),
            self._io_stat,
            *((self._blkio_bytes, self._blkio_ops) if self._io_stat is None else ()),
            self._pids_current,
            self._pids_max,
            self._procs,
        ]
        return [path for path in candidates if path is not None]

    def _v1_cpu_paths(self) -> tuple[str | None, ...]:
        if self._cpuacct_user is not None and self._cpuacct_sys is not None:
            return (self._cpuacct_user, self._cpuacct_sys)
        return (self._cpuacct_stat,)

    def read(self) -> ContainerStats:
        """Read every counter once.

        Raises:
            GroupGoneError: the container's group disappeared (it stopped).
            OSError: a file could not be read for another reason.
        """
        stats = ContainerStats()
        self._read_cpu(stats)
        self._read_memory(stats)
        for resource, path in self._pressure:
            for level, total_s in parse_pressure(read_text(path)).items():
                stats.pressure_stall_s[(resource, level)] = total_s
        self._read_io(stats)
        if self._pids_current is not None:
            stats.pids_count = int(read_text(self._pids_current))
        if self._pids_max is not None:
            stats.pids_limit = parse_limit(read_text(self._pids_max))
        self._read_network(stats)
        return stats

    def _read_cpu(self, stats: ContainerStats) -> None:
        throttling: dict[str, int] = {}
        if self._cpu_stat_v2 is not None:
            cpu = parse_flat_keyed(read_text(self._cpu_stat_v2))
            stats.cpu_user_s = cpu.get("user_usec", 0) / 1e6
            stats.cpu_system_s = cpu.get("system_usec", 0) / 1e6
            if self._throttle_in_v2:
                throttling = {
                    "periods": cpu.get("nr_periods", 0),
                    "throttled": cpu.get("nr_throttled", 0),
                    "throttled_ns": cpu.get("throttled_usec", 0) * 1000,
                }
        elif self._cpuacct_user is not None and self._cpuacct_sys is not None:
            stats.cpu_user_s = int(read_text(self._cpuacct_user)) / 1e9
            stats.cpu_system_s = int(read_text(self._cpuacct_sys)) / 1e9
        elif self._cpuacct_stat is not None:
            ticks = parse_flat_keyed(read_text(self._cpuacct_stat))
            stats.cpu_user_s = ticks.get("user", 0) / self._clk_tck
            stats.cpu_system_s = ticks.get("system", 0) / self._clk_tck
        if not throttling and self._cpu_stat_v1 is not None:
            cpu = parse_flat_keyed(read_text(self._cpu_stat_v1))
            throttling = {
                "periods": cpu.get("nr_periods", 0),
                "throttled": cpu.get("nr_throttled", 0),
                "throttled_ns": cpu.get("throttled_time", 0),
            }
        if throttling:
            stats.cpu_periods = throttling["periods"]
            stats.cpu_throttled_periods = throttling["throttled"]
            stats.cpu_throttled_s = throttling["throttled_ns"] / 1e9

    def _read_memory(self, stats: ContainerStats) -> None:
        if self._mem_usage is None:
            return
        usage = int(read_text(self._mem_usage))
        stats.memory_usage_bytes = usage
        if self._mem_stat is not None:
            mem = parse_flat_keyed(read_text(self._mem_stat))
            if self._memory_v2:
                inactive_file = mem.get("inactive_file", 0)
                stats.memory_rss_bytes = mem.get("anon")
                stats.memory_cache_bytes = mem.get("file")
            else:
                # The total_* keys include descendant groups, as usage_in_bytes does.
                inactive_file = mem.get("total_inactive_file", 0)
                stats.memory_rss_bytes = mem.get("total_rss")
                stats.memory_cache_bytes = mem.get("total_cache")
            # Working set as the kubelet and cAdvisor define it: what cannot be reclaimed easily.
            stats.memory_working_set_bytes = max(usage - inactive_file, 0)
        if self._mem_limit is not None:
            stats.memory_limit_bytes = parse_limit(read_text(self._mem_limit))
        if self._mem_swap is not None:
            swap = int(read_text(self._mem_swap))
            # v1 memsw.usage counts memory plus swap.
            stats.memory_swap_bytes = swap if self._memory_v2 else max(swap - usage, 0)
        if self._mem_events is not None:
            stats.memory_oom_kills = parse_flat_keyed(read_text(self._mem_events)).get(
                "oom_kill", 0
            )

    def _read_io(self, stats: ContainerStats) -> None:
        if self._io_stat is not None:
            (
                stats.disk_read_bytes,
                stats.disk_write_bytes,
                stats.disk_read_ops,
                stats.disk_write_ops,
            ) = parse_io_stat(read_text(self._io_stat))
            return
        if self._blkio_bytes is not None:
            stats.disk_read_bytes, stats.disk_write_bytes = parse_blkio(
                read_text(self._blkio_bytes)
            )
        if self._blkio_ops is not None:
            stats.disk_read_ops, stats.disk_write_ops = parse_blkio(read_text(self._blkio_ops))

    def _read_network(self, stats: ContainerStats) -> None:
        if self._procs is None:
            return
        first = read_text(self._procs).partition("\n")[0].strip()
        if not first:
            return
        base = f"{self._proc_root}/{first}"
        try:
            netns = os.stat(f"{base}/ns/net").st_ino
            if netns == self._host_netns:
                return
            stats.network = parse_net_dev(read_text(f"{base}/net/dev"), self._net_exclude)
        except (OSError, GroupGoneError):
            # The pid exited between listing and reading: the next cycle picks another.
            return
