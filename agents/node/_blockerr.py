"""Disk I/O errors: ``<sys_root>/block/*/device/ioerr_cnt``.

SCSI disks (SATA and SAS through libata and the SCSI midlayer) count the commands that completed
with an error, in hexadecimal (drivers/scsi/scsi_sysfs.c). NVMe and virtio disks have no such
file; a node where no disk has one gives the source state ``absent``::

    BlockErrorsCollector(Path("/sys")).collect()
"""

from __future__ import annotations

import re
from pathlib import Path

from agents._otel import Reading
from agents.node._disk import DEFAULT_DISK_SKIP
from agents.node._files import read_text
from agents.node._hardware import HW_ERRORS, HW_SOURCE_AVAILABLE, IO, SourceState, source_state

__all__ = ["BlockErrorsCollector"]

_SOURCE = "ioerr_cnt"


def _counter(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip(), 0)  # "0x1f"
    except ValueError:
        return None


class BlockErrorsCollector:
    """I/O error counts of block devices.

    Args:
        sys_root: sysfs mount.
        skip_devices: regular expression of device names to skip (as the disk collector's).
    """

    name = "block_errors"
    instruments = (HW_ERRORS, HW_SOURCE_AVAILABLE)

    def __init__(self, sys_root: Path, *, skip_devices: str = DEFAULT_DISK_SKIP) -> None:
        self._block = sys_root / "block"
        self._skip = re.compile(skip_devices)

    def collect(self) -> list[Reading]:
        """Read every block device's error count once."""
        try:
            devices = sorted(p for p in self._block.iterdir() if not self._skip.match(p.name))
        except OSError:
            devices = []
        out: list[Reading] = []
        for device in devices:
            count = _counter(read_text(device / "device" / "ioerr_cnt"))
            if count is None:
                continue
            model = read_text(device / "device" / "model")
            attrs = {
                "hw.type": "physical_disk",
                "hw.id": device.name,
                "hw.name": model.strip() if model and model.strip() else device.name,
                "error.type": IO,
            }
            out.append(Reading(HW_ERRORS.name, float(count), attrs))
        state = SourceState.OK if out else SourceState.ABSENT
        return [source_state(_SOURCE, state), *out]
