"""Parsers for the text of cgroup and procfs files (pure functions, no I/O).

Formats follow the kernel's Documentation/admin-guide/cgroup-v2.rst ("Interface Files":
flat keyed, nested keyed, single value) and cgroup-v1/{memory,blkio-controller}.rst::

    parse_flat_keyed("usage_usec 10\\nuser_usec 7\\n")   # {"usage_usec": 10, "user_usec": 7}
"""

from __future__ import annotations

import contextlib

from agents.containers._stats import InterfaceStats

__all__ = [
    "V1_UNLIMITED_BYTES",
    "parse_blkio",
    "parse_flat_keyed",
    "parse_io_stat",
    "parse_limit",
    "parse_net_dev",
    "parse_pressure",
]

#: v1 reports "no limit" as the largest page-aligned signed 64-bit value; anything this large
#: is no limit in practice.
V1_UNLIMITED_BYTES = 1 << 62


def parse_flat_keyed(text: str) -> dict[str, int]:
    """Parse ``key value`` lines (``cpu.stat``, ``memory.stat``, ``memory.events``)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value)
        except ValueError:
            continue
    return values


def parse_limit(text: str) -> int | None:
    """Parse a single-value limit (``memory.max``, ``pids.max``, ``memory.limit_in_bytes``).

    Returns:
        The limit, or ``None`` for no limit (``max`` on v2, a huge value on v1).
    """
    value = text.strip()
    if not value or value == "max":
        return None
    try:
        limit = int(value)
    except ValueError:
        return None
    return None if limit >= V1_UNLIMITED_BYTES else limit


def parse_pressure(text: str) -> dict[str, float]:
    """Parse a PSI file (``cpu.pressure``): ``some``/``full`` to total stall seconds."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        for field in rest.split():
            if field.startswith("total="):
                with contextlib.suppress(ValueError):
                    totals[kind] = int(field[6:]) / 1e6
    return totals


def parse_io_stat(text: str) -> tuple[int, int, int, int]:
    """Parse v2 ``io.stat``, summed over devices.

    Returns:
        (read bytes, written bytes, read operations, write operations).
    """
    rbytes = wbytes = rios = wios = 0
    for line in text.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if not value.isdigit():
                continue
            if key == "rbytes":
                rbytes += int(value)
            elif key == "wbytes":
                wbytes += int(value)
            elif key == "rios":
                rios += int(value)
            elif key == "wios":
                wios += int(value)
    return rbytes, wbytes, rios, wios


def parse_blkio(text: str) -> tuple[int, int]:
    """Parse a v1 ``blkio.throttle.io_service*`` file, summed over devices.

    Returns:
        (read, write) totals: bytes or operations, depending on the file.
    """
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit():
            continue
        if parts[1] == "Read":
            read += int(parts[2])
        elif parts[1] == "Write":
            write += int(parts[2])
    return read, write


def parse_net_dev(text: str, exclude: frozenset[str] = frozenset()) -> dict[str, InterfaceStats]:
    """Parse ``/proc/<pid>/net/dev`` (two header lines, then one line per interface).

    Args:
        text: the file's text.
        exclude: interface names to leave out.
    """
    interfaces: dict[str, InterfaceStats] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        name = name.strip()
        fields = rest.split()
        if name in exclude or len(fields) < 12:
            continue
        try:
            # Receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
            interfaces[name] = InterfaceStats(
                receive_bytes=int(fields[0]),
                receive_packets=int(fields[1]),
                receive_errors=int(fields[2]),
                receive_dropped=int(fields[3]),
                transmit_bytes=int(fields[8]),
                transmit_packets=int(fields[9]),
                transmit_errors=int(fields[10]),
                transmit_dropped=int(fields[11]),
            )
        except ValueError:
            continue
    return interfaces
