"""The CPU and memory limits of the cgroup this process runs in, v2 or v1.

A node agent inside a limited group (a lab node, a Kubernetes pod with limits, a systemd slice)
has that much of the machine, not the whole of it. The effective limit is the tightest one on
the path from the agent's group up to the root, since a parent's limit binds its children::

    limits = cgroup_limits(Path("/proc"), Path("/sys"))
    limits.cpu_cores        # 0.5 for cpu.max "50000 100000"; None when unlimited
    limits.memory_bytes     # 268435456 for memory.max 256M; None when unlimited
    limits.cpu_usage_s      # CPU seconds the group used (cpu.stat usage_usec, cpuacct.usage)

Sources: ``cpu.max`` and ``memory.max`` (v2, Documentation/admin-guide/cgroup-v2.rst), else
``cpu.cfs_quota_us``/``cpu.cfs_period_us`` and ``memory.limit_in_bytes`` (v1; a v1 "no limit"
is a huge page-rounded number, so anything from 2**62 up counts as none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.node._files import read_text

__all__ = ["CgroupLimits", "QuotaUtilization", "cgroup_limits"]

_V1_UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class CgroupLimits:
    """Limits of this process's cgroup (None: not limited there)."""

    cpu_cores: float | None = None
    memory_bytes: int | None = None
    memory_usage_bytes: int | None = None
    cpu_usage_s: float | None = None  # CPU time the group has used, cumulative


def _groups(proc_root: Path) -> dict[str, str]:
    """Controller name (``""`` for v2) -> this process's group path."""
    out: dict[str, str] = {}
    for line in (read_text(proc_root / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            out[controller] = parts[2]
    return out


def _ancestors(mount: Path, group: str) -> list[Path]:
    """The group's directory and each parent's, up to the mount (leaf first)."""
    parts = [p for p in group.split("/") if p]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _v2_cpu(path: Path) -> float | None:
    text = read_text(path / "cpu.max")
    if not text:
        return None
    quota, _, period = text.strip().partition(" ")
    if quota == "max" or not period:
        return None
    return int(quota) / int(period)


def _v1_cpu(path: Path) -> float | None:
    quota, period = read_text(path / "cpu.cfs_quota_us"), read_text(path / "cpu.cfs_period_us")
    if not quota or not period or int(quota) < 0:
        return None
    return int(quota) / int(period)


def _v2_usage_s(path: Path) -> float | None:
    for line in (read_text(path / "cpu.stat") or "").splitlines():
        name, _, value = line.partition(" ")
        if name == "usage_usec" and value.strip().isdigit():
            return int(value) / 1e6
    return None


class QuotaUtilization:
    """Busy share of a CPU-limited group's quota between two calls.

    On a node that has a quota rather than the host's CPUs, ``/proc/stat`` tells how busy the
    whole host is, not the node: its own usage over its quota does.
    """

    def __init__(self) -> None:
        self._previous: tuple[float, float] | None = None

    def busy(self, limits: CgroupLimits, now_s: float) -> float | None:
        """The busy fraction since the last call (None on the first, or without a quota)."""
        if limits.cpu_cores is None or limits.cpu_usage_s is None:
            self._previous = None
            return None
        previous, self._previous = self._previous, (now_s, limits.cpu_usage_s)
        if previous is None or now_s <= previous[0]:
            return None
        used_s = max(0.0, limits.cpu_usage_s - previous[1])
        return min(1.0, used_s / ((now_s - previous[0]) * limits.cpu_cores))


def _number(text: str | None) -> int | None:
    if not text or text.strip() == "max":
        return None
    value = int(text)
    return None if value >= _V1_UNLIMITED else value


def _tightest(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def cgroup_limits(proc_root: Path, sys_root: Path) -> CgroupLimits:
    """Read this process's effective CPU and memory limits (never raises)."""
    groups = _groups(proc_root)
    root = sys_root / "fs" / "cgroup"
    cpu: float | None = None
    memory: float | None = None
    usage: int | None = None
    cpu_usage_s: float | None = None
    if "" in groups and (root / "cgroup.controllers").exists():  # a pure v2 host
        chain = _ancestors(root, groups[""])
        cpu = _tightest([_v2_cpu(p) for p in chain])
        memory = _tightest([_number(read_text(p / "memory.max")) for p in chain])
        usage = _number(read_text(chain[0] / "memory.current"))
        cpu_usage_s = _v2_usage_s(chain[0])
    else:
        if "cpu" in groups:
            mount = next((m for m in (root / "cpu", root / "cpu,cpuacct") if m.is_dir()), None)
            if mount is not None:
                cpu = _tightest([_v1_cpu(p) for p in _ancestors(mount, groups["cpu"])])
        if "cpuacct" in groups:
            mount = next((m for m in (root / "cpuacct", root / "cpu,cpuacct") if m.is_dir()), None)
            if mount is not None:
                path = _ancestors(mount, groups["cpuacct"])[0]
                nanoseconds = _number(read_text(path / "cpuacct.usage"))
                cpu_usage_s = None if nanoseconds is None else nanoseconds / 1e9
        if "memory" in groups:
            chain = _ancestors(root / "memory", groups["memory"])
            memory = _tightest([_number(read_text(p / "memory.limit_in_bytes")) for p in chain])
            usage = _number(read_text(chain[0] / "memory.usage_in_bytes"))
    return CgroupLimits(cpu, None if memory is None else int(memory), usage, cpu_usage_s)
