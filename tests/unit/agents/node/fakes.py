"""Stand-ins for NVML, smartctl and statvfs, so collectors run on fixture trees without hardware."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "node"
PROC = FIXTURES / "proc"
SYS = FIXTURES / "sys"
#: Hardware-health trees beside the full one: nothing present, and EDAC without DIMMs.
BARE = FIXTURES.parent / "node_health" / "bare"
CSROW_EDAC = FIXTURES.parent / "node_health" / "csrow_edac"
SMARTCTL = FIXTURES.parent / "smartctl"


class NVMLError(Exception):
    """What pynvml raises."""


@dataclass
class _Utilization:
    gpu: int


@dataclass
class _Memory:
    used: int
    total: int


class FakeNvml:
    """Two GPUs; the second does not support power readings."""

    def __init__(self) -> None:
        self.init_calls = 0

    def nvmlInit(self) -> None:
        self.init_calls += 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return f"GPU-0000000{handle}"

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> _Utilization:
        return _Utilization(gpu=40 + handle)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> _Memory:
        return _Memory(used=1024**3 * (handle + 1), total=80 * 1024**3)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return 60 + handle

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        if handle == 1:
            raise NVMLError("Not Supported")
        return 300_000

    # ECC: the first board counts (volatile corrected 4, uncorrected 1; aggregate 40 and 2) and
    # retired 3 pages after single-bit errors; the second has ECC switched off.
    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int) -> int:
        if handle == 1:
            raise NVMLError("Not Supported")
        return {(0, 0): 4, (1, 0): 1, (0, 1): 40, (1, 1): 2}[(error_type, counter)]

    def nvmlDeviceGetRetiredPages(self, handle: int, cause: int) -> list[int]:
        return [0x1000, 0x2000, 0x3000] if cause == 0 else []

    def nvmlDeviceGetRetiredPagesPendingStatus(self, handle: int) -> int:
        return 1


class MissingNvml:
    """NVML without its library, as on a machine with no driver."""

    def __init__(self) -> None:
        self.init_calls = 0

    def nvmlInit(self) -> None:
        self.init_calls += 1
        raise NVMLError("NVML Shared Library Not Found")


def fake_statvfs(path: str) -> os.statvfs_result:
    """1000 blocks of 4 KiB: 600 free, 500 available to users."""
    return os.statvfs_result((4096, 4096, 1000, 600, 500, 100, 50, 40, 0, 255))


class HungStatvfs:
    """statvfs that never answers for one mount point until released."""

    def __init__(self, hung: str) -> None:
        self.hung = hung
        self.release = threading.Event()
        self.calls: dict[str, int] = {}

    def __call__(self, path: str) -> os.statvfs_result:
        self.calls[path] = self.calls.get(path, 0) + 1
        if path == self.hung:
            self.release.wait(30)
        return fake_statvfs(path)


@dataclass
class FakeSmartctl:
    """smartctl answering from tests/fixtures/smartctl: ``scan`` names the --scan-open answer,
    ``devices`` maps a device path to its answer file; ``error`` is raised instead when set."""

    scan: str = "scan-open.json"
    devices: dict[str, str] = field(
        default_factory=lambda: {
            "/dev/sda": "sda.json",
            "/dev/nvme0": "nvme0.json",
            "/dev/sdc": "sdc-standby.json",
        }
    )
    error: Exception | None = None
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, args: Sequence[str], timeout_s: float) -> tuple[int, str]:
        self.calls.append(list(args))
        if self.error is not None:
            raise self.error
        name = self.scan if "--scan-open" in args else self.devices[args[-1]]
        text = (SMARTCTL / name).read_text()
        return int(json.loads(text)["smartctl"]["exit_status"]), text
