"""Stand-ins for NVML and statvfs, so collectors run on fixture trees without hardware."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "node"
PROC = FIXTURES / "proc"
SYS = FIXTURES / "sys"


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
