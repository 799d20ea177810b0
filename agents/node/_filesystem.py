"""Filesystems: usage by state and size per mount point, with a timeout per mount.

Mounts come from ``<proc_root>/mounts``; pseudo filesystems and system mount points are ignored
by default (the node_exporter defaults). ``statvfs`` runs on a worker thread per mount and is
given ``mount_timeout_s``: a mount that does not answer (a stale NFS server) is skipped and
counted, and not asked again until its stuck call returns, so it costs one thread at most and
never delays the other mounts::

    FilesystemCollector(Path("/proc"), mount_timeout_s=1.0).collect()
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading, TimedWorker
from agents.node._files import read_text

__all__ = [
    "DEFAULT_IGNORED_FS_TYPES",
    "DEFAULT_IGNORED_MOUNTPOINTS",
    "FilesystemCollector",
    "Mount",
    "StatVfs",
    "parse_mounts",
]

_log = logging.getLogger(__name__)

DEFAULT_IGNORED_FS_TYPES = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
    r"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"
    r"sysfs|tracefs)$"
)
DEFAULT_IGNORED_MOUNTPOINTS = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)

_G = InstrumentKind.GAUGE
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")

StatVfs = Callable[[str], os.statvfs_result]


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of /proc/mounts."""

    device: str
    mountpoint: str
    fs_type: str
    read_only: bool


def _unescape(field: str) -> str:
    # The kernel escapes space, tab, newline and backslash as octal (fs/proc_namespace.c).
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[Mount]:
    """Parse /proc/mounts; a mount point mounted over keeps only its last (visible) entry."""
    by_point: dict[str, Mount] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        options = fields[3].split(",")
        point = _unescape(fields[1])
        by_point[point] = Mount(_unescape(fields[0]), point, fields[2], "ro" in options)
    return list(by_point.values())


class FilesystemCollector:
    """Usage and size of mounted filesystems.

    Args:
        proc_root: procfs mount.
        mount_timeout_s: how long each mount's statvfs may take.
        ignored_fs_types: regular expression of filesystem types to skip.
        ignored_mountpoints: regular expression of mount points to skip.
        statvfs: the statvfs function (tests inject slow ones).
    """

    name = "filesystem"
    instruments = (
        InstrumentSpec(
            "system.filesystem.usage",
            _G,
            "By",
            "Filesystem space used, free, and reserved for the superuser.",
        ),
        InstrumentSpec("system.filesystem.limit", _G, "By", "Filesystem size."),
        InstrumentSpec(
            "continuum.filesystem.stat.timeouts",
            InstrumentKind.COUNTER,
            "{timeout}",
            "Cycles a mount was skipped because statvfs did not answer within the timeout.",
        ),
    )

    def __init__(
        self,
        proc_root: Path,
        *,
        mount_timeout_s: float = 1.0,
        ignored_fs_types: str = DEFAULT_IGNORED_FS_TYPES,
        ignored_mountpoints: str = DEFAULT_IGNORED_MOUNTPOINTS,
        statvfs: StatVfs = os.statvfs,
    ) -> None:
        self._mounts = proc_root / "mounts"
        self._timeout_s = mount_timeout_s
        self._ignored_types = re.compile(ignored_fs_types)
        self._ignored_points = re.compile(ignored_mountpoints)
        self._statvfs = statvfs
        self._workers: dict[str, TimedWorker[os.statvfs_result]] = {}
        self._stuck: set[str] = set()
        self._timeouts: dict[str, int] = {}

    def _worker(self, mountpoint: str) -> TimedWorker[os.statvfs_result]:
        # One long-lived thread per mount: spawning one per call cost more than the statvfs.
        worker = self._workers.get(mountpoint)
        if worker is None:
            statvfs = self._statvfs
            worker = TimedWorker(f"statvfs {mountpoint}", lambda: statvfs(mountpoint))
            self._workers[mountpoint] = worker
        return worker

    def collect(self) -> list[Reading]:
        """Stat every mount once, in parallel, each under the per-mount timeout."""
        text = read_text(self._mounts)
        if text is None:
            return []
        mounts = [
            m
            for m in parse_mounts(text)
            if not self._ignored_types.match(m.fs_type)
            and not self._ignored_points.match(m.mountpoint)
        ]
        known = {m.mountpoint for m in mounts}
        # Unmounted: let their threads go (a stuck one ends when its call finally returns).
        for point in set(self._workers) - known:
            self._workers.pop(point).stop()
            self._stuck.discard(point)
        started = time.monotonic()
        pending = []
        for mount in mounts:
            worker = self._worker(mount.mountpoint)
            if worker.busy:
                # Still stuck since an earlier cycle: skipped and counted, never asked twice.
                self._timeouts[mount.mountpoint] = self._timeouts.get(mount.mountpoint, 0) + 1
                continue
            if mount.mountpoint in self._stuck:
                self._stuck.discard(mount.mountpoint)
                _log.info("filesystem %s answers again", mount.mountpoint)
            pending.append((mount, worker.submit()))
        out: list[Reading] = []
        for mount, future in pending:
            remaining_s = max(0.0, started + self._timeout_s - time.monotonic())
            try:
                stat, _ = future.result(timeout=remaining_s)
            except TimeoutError:
                self._stuck.add(mount.mountpoint)
                self._timeouts[mount.mountpoint] = self._timeouts.get(mount.mountpoint, 0) + 1
                _log.warning(
                    "filesystem %s (%s) did not answer statvfs within %g s; skipped until it does",
                    mount.mountpoint,
                    mount.fs_type,
                    self._timeout_s,
                )
                continue
            except OSError as err:
                _log.debug("statvfs %s failed: %s", mount.mountpoint, err)
                continue
            out.extend(self._readings(mount, stat))
        for point, count in self._timeouts.items():
            if point in known:
                out.append(
                    Reading(
                        "continuum.filesystem.stat.timeouts",
                        float(count),
                        {"system.filesystem.mountpoint": point},
                    )
                )
        return out

    @staticmethod
    def _readings(mount: Mount, stat: os.statvfs_result) -> list[Reading]:
        if stat.f_blocks == 0:
            return []  # nothing to measure (some pseudo filesystems report zero size)
        size = stat.f_frsize
        total = stat.f_blocks * size
        free = stat.f_bavail * size
        reserved = (stat.f_bfree - stat.f_bavail) * size
        used = total - stat.f_bfree * size
        attrs = {
            "system.device": mount.device,
            "system.filesystem.mountpoint": mount.mountpoint,
            "system.filesystem.type": mount.fs_type,
            "system.filesystem.mode": "ro" if mount.read_only else "rw",
        }
        out = [
            Reading("system.filesystem.usage", float(v), {**attrs, "system.filesystem.state": s})
            for s, v in (("used", used), ("free", free), ("reserved", reserved))
        ]
        out.append(Reading("system.filesystem.limit", float(total), attrs))
        return out
