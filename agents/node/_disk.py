"""Disk: bytes, operations, operation time and io time per block device.

Reads ``<proc_root>/diskstats`` (Documentation/admin-guide/iostats.rst) and skips partitions
(devices with ``<sys_root>/class/block/<name>/partition``) and, by default, loop, ram, zram,
floppy and optical devices, whose traffic is counted on the device below them or is noise::

    DiskCollector(Path("/proc"), Path("/sys")).collect()
"""

from __future__ import annotations

import re
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._files import read_text

__all__ = ["DEFAULT_DISK_SKIP", "DiskCollector"]

#: Devices skipped unless configured otherwise.
DEFAULT_DISK_SKIP = r"^(loop|ram|zram|fd|sr)\d+$"
# diskstats counts in 512-byte sectors whatever the device's sector size (iostats.rst).
_SECTOR_BYTES = 512

_C = InstrumentKind.COUNTER


class DiskCollector:
    """Block device I/O counters.

    Args:
        proc_root: procfs mount.
        sys_root: sysfs mount (to tell partitions from whole devices).
        skip_devices: regular expression of device names to skip.
        include_partitions: report partitions too.
    """

    name = "disk"
    instruments = (
        InstrumentSpec("system.disk.io", _C, "By", "Bytes read from and written to the device."),
        InstrumentSpec(
            "system.disk.operations", _C, "{operation}", "Read and write operations completed."
        ),
        InstrumentSpec(
            "system.disk.operation_time",
            _C,
            "s",
            "Time spent on read and write operations (summed over concurrent operations).",
        ),
        InstrumentSpec(
            "system.disk.io_time", _C, "s", "Time the device had at least one operation in flight."
        ),
        InstrumentSpec(
            "system.disk.merged", _C, "{operation}", "Adjacent operations merged by the kernel."
        ),
    )

    def __init__(
        self,
        proc_root: Path,
        sys_root: Path,
        *,
        skip_devices: str = DEFAULT_DISK_SKIP,
        include_partitions: bool = False,
    ) -> None:
        self._diskstats = proc_root / "diskstats"
        self._block = sys_root / "class" / "block"
        self._skip = re.compile(skip_devices)
        self._include_partitions = include_partitions
        self._partition_cache: dict[str, bool] = {}

    def _is_partition(self, device: str) -> bool:
        known = self._partition_cache.get(device)
        if known is None:
            known = (self._block / device / "partition").exists()
            self._partition_cache[device] = known
        return known

    def collect(self) -> list[Reading]:
        """Read diskstats once."""
        text = read_text(self._diskstats)
        if text is None:
            return []
        out: list[Reading] = []
        seen: set[str] = set()
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 14:
                continue
            device = fields[2]
            if self._skip.match(device):
                continue
            if not self._include_partitions and self._is_partition(device):
                continue
            seen.add(device)
            v = [float(x) for x in fields[3:14]]
            reads, rmerged, rsectors, rms, writes, wmerged, wsectors, wms, _, io_ms, _ = v
            for direction, ops, merged, sectors, ms in (
                ("read", reads, rmerged, rsectors, rms),
                ("write", writes, wmerged, wsectors, wms),
            ):
                attrs = {"system.device": device, "disk.io.direction": direction}
                out.append(Reading("system.disk.io", sectors * _SECTOR_BYTES, attrs))
                out.append(Reading("system.disk.operations", ops, attrs))
                out.append(Reading("system.disk.operation_time", ms / 1000.0, attrs))
                out.append(Reading("system.disk.merged", merged, attrs))
            out.append(Reading("system.disk.io_time", io_ms / 1000.0, {"system.device": device}))
        # Forget devices that vanished (hot-unplug) so the cache cannot grow without bound.
        for gone in set(self._partition_cache) - seen:
            self._partition_cache.pop(gone, None)
        return out
