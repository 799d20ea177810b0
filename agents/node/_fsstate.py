"""Filesystems that are read-only or have met errors.

A filesystem the kernel remounted read-only after an error (``errors=remount-ro``) still
answers statvfs, so usage alone does not show it. This collector reports, per mount of
``<proc_root>/mounts`` (with the filesystem collector's ignore patterns):

- ``continuum.filesystem.read_only``: 1 when mounted read-only;
- ``continuum.filesystem.errors``: the errors ext4 recorded in its superblock
  (``<sys_root>/fs/ext4/<device>/errors_count``, Documentation/ABI/testing/sysfs-fs-ext4),
  which persist until ``e2fsck`` clears them.

No mount table is the source state ``absent``::

    FilesystemStateCollector(Path("/proc"), Path("/sys")).collect()
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._files import read_int, read_text
from agents.node._filesystem import (
    DEFAULT_IGNORED_FS_TYPES,
    DEFAULT_IGNORED_MOUNTPOINTS,
    Mount,
    parse_mounts,
)
from agents.node._hardware import HW_SOURCE_AVAILABLE, SourceState, source_state

__all__ = ["FilesystemStateCollector"]

_SOURCE = "filesystem_state"


class FilesystemStateCollector:
    """Read-only flags and recorded errors of mounted filesystems.

    Args:
        proc_root: procfs mount.
        sys_root: sysfs mount.
        ignored_fs_types: regular expression of filesystem types to skip.
        ignored_mountpoints: regular expression of mount points to skip.
    """

    name = "filesystem_state"
    instruments = (
        HW_SOURCE_AVAILABLE,
        InstrumentSpec(
            "continuum.filesystem.read_only",
            InstrumentKind.GAUGE,
            "1",
            "1 when the filesystem is mounted read-only, else 0.",
        ),
        InstrumentSpec(
            "continuum.filesystem.errors",
            InstrumentKind.COUNTER,
            "{error}",
            "Errors the filesystem recorded in its superblock (ext4), until a check clears them.",
        ),
    )

    def __init__(
        self,
        proc_root: Path,
        sys_root: Path,
        *,
        ignored_fs_types: str = DEFAULT_IGNORED_FS_TYPES,
        ignored_mountpoints: str = DEFAULT_IGNORED_MOUNTPOINTS,
    ) -> None:
        self._mounts = proc_root / "mounts"
        self._ext4 = sys_root / "fs" / "ext4"
        self._ignored_types = re.compile(ignored_fs_types)
        self._ignored_points = re.compile(ignored_mountpoints)

    def collect(self) -> list[Reading]:
        """Read the mount table and each ext4 filesystem's error count once."""
        text = read_text(self._mounts)
        if text is None:
            return [source_state(_SOURCE, SourceState.ABSENT)]
        out = [source_state(_SOURCE, SourceState.OK)]
        for mount in parse_mounts(text):
            if self._ignored_types.match(mount.fs_type) or self._ignored_points.match(
                mount.mountpoint
            ):
                continue
            attrs = {
                "system.device": mount.device,
                "system.filesystem.mountpoint": mount.mountpoint,
                "system.filesystem.type": mount.fs_type,
            }
            out.append(Reading("continuum.filesystem.read_only", float(mount.read_only), attrs))
            errors = self._ext4_errors(mount)
            if errors is not None:
                out.append(Reading("continuum.filesystem.errors", float(errors), attrs))
        return out

    def _ext4_errors(self, mount: Mount) -> int | None:
        if mount.fs_type != "ext4":
            return None
        # sysfs names the filesystem by its block device's kernel name: /dev/sda1 is sda1, and
        # /dev/mapper/vg-root is a link to /dev/dm-0, so dm-0.
        for name in dict.fromkeys(
            (Path(mount.device).name, Path(os.path.realpath(mount.device)).name)
        ):
            count = read_int(self._ext4 / name / "errors_count")
            if count is not None:
                return count
        return None
