"""Filesystem collector: pseudo filesystems ignored, a hung mount skipped within its timeout."""

from __future__ import annotations

import time

import pytest

from agents.node._filesystem import FilesystemCollector, parse_mounts
from tests.unit.agents.node.fakes import PROC, HungStatvfs, fake_statvfs


def test_usage_and_limit_per_real_mount() -> None:
    readings = FilesystemCollector(PROC, statvfs=fake_statvfs).collect()
    points = {r.attributes["system.filesystem.mountpoint"] for r in readings}
    # proc, sysfs and overlay under /var/lib/docker are ignored; tmpfs and NFS are not.
    assert points == {"/", "/run", "/mnt/nfs", "/mnt/my data"}
    root = [r for r in readings if r.attributes["system.filesystem.mountpoint"] == "/"]
    usage = {
        r.attributes["system.filesystem.state"]: r.value
        for r in root
        if r.instrument == "system.filesystem.usage"
    }
    assert usage == {"used": 400 * 4096, "free": 500 * 4096, "reserved": 100 * 4096}
    limit = next(r for r in root if r.instrument == "system.filesystem.limit")
    assert limit.value == 1000 * 4096
    assert limit.attributes["system.device"] == "/dev/sda1"
    assert limit.attributes["system.filesystem.type"] == "ext4"
    assert limit.attributes["system.filesystem.mode"] == "rw"
    data = next(
        r
        for r in readings
        if r.instrument == "system.filesystem.limit"
        and r.attributes["system.filesystem.mountpoint"] == "/mnt/my data"
    )
    assert data.attributes["system.filesystem.mode"] == "ro"


def test_hung_mount_is_skipped_within_its_timeout_and_not_asked_again() -> None:
    statvfs = HungStatvfs("/mnt/nfs")
    collector = FilesystemCollector(PROC, mount_timeout_s=0.2, statvfs=statvfs)
    try:
        started = time.monotonic()
        readings = collector.collect()
        assert time.monotonic() - started < 1.0
        points = {
            r.attributes.get("system.filesystem.mountpoint")
            for r in readings
            if r.instrument == "system.filesystem.limit"
        }
        assert points == {"/", "/run", "/mnt/my data"}
        timeouts = [r for r in readings if r.instrument == "continuum.filesystem.stat.timeouts"]
        assert [(r.attributes["system.filesystem.mountpoint"], r.value) for r in timeouts] == [
            ("/mnt/nfs", 1)
        ]

        # Still stuck: skipped at once, counted, and no second thread piles up behind it.
        started = time.monotonic()
        readings = collector.collect()
        assert time.monotonic() - started < 0.2
        assert statvfs.calls["/mnt/nfs"] == 1
        timeouts = [r for r in readings if r.instrument == "continuum.filesystem.stat.timeouts"]
        assert timeouts[0].value == 2
    finally:
        statvfs.release.set()
    # Once it answers, it is measured again.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        readings = collector.collect()
        if any(
            r.attributes.get("system.filesystem.mountpoint") == "/mnt/nfs"
            and r.instrument == "system.filesystem.limit"
            for r in readings
        ):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the mount was never measured again")


def test_statvfs_error_skips_only_that_mount() -> None:
    def statvfs(path: str):  # type: ignore[no-untyped-def]
        if path == "/run":
            raise PermissionError(13, "denied")
        return fake_statvfs(path)

    readings = FilesystemCollector(PROC, statvfs=statvfs).collect()
    assert "/run" not in {r.attributes["system.filesystem.mountpoint"] for r in readings}
    assert "/" in {r.attributes["system.filesystem.mountpoint"] for r in readings}


def test_missing_mounts_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert FilesystemCollector(tmp_path, statvfs=fake_statvfs).collect() == []


def test_parse_mounts_unescapes_and_keeps_the_visible_mount() -> None:
    mounts = parse_mounts("a /x ext4 rw 0 0\nb /x xfs ro 0 0\nc /with\\040space ext4 rw 0 0\n")
    assert [(m.device, m.mountpoint, m.read_only) for m in mounts] == [
        ("b", "/x", True),
        ("c", "/with space", False),
    ]
