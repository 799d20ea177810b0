"""One cgroup per lab node, limiting its CPU and memory, on cgroup v2 or v1.

The backend is chosen once from what is mounted: a v2 hierarchy with the ``cpu`` and ``memory``
controllers at ``/sys/fs/cgroup`` (``cpu.max``, ``memory.max``), else the v1 ``cpu`` and
``memory`` hierarchies (CFS quota, ``memory.limit_in_bytes``). On v1 each group is made under the
group this process already runs in, so a lab started inside a limited session stays inside it::

    backend = detect_backend(Path("/sys/fs/cgroup"), Path("/proc/self/cgroup"))
    group = backend.create("continuum-lab", "edge-1", cpu_cores=0.25, memory_bytes=256 << 20)
    group.procs_files      # write a pid to each to move that process in
    backend.remove(group.paths)
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from continuum.lab._errors import LabError

__all__ = ["CgroupBackend", "NodeCgroup", "detect_backend", "kill_and_remove"]

CFS_PERIOD_US = 100_000
_V1_CONTROLLERS = ("cpu", "memory")
#: Joined for accounting only: the node agent reads its group's CPU usage there.
_V1_ACCOUNTING = ("cpuacct",)
_EMPTY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class NodeCgroup:
    """A node's group: one directory per hierarchy (one on v2, one per controller on v1)."""

    paths: tuple[Path, ...]

    @property
    def procs_files(self) -> tuple[Path, ...]:
        return tuple(path / "cgroup.procs" for path in self.paths)


def _own_path(proc_cgroup: Path, controller: str | None) -> str:
    """This process's group in one hierarchy (``controller`` None: the v2 one)."""
    for line in proc_cgroup.read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller is None and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    return "/"


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as err:
        raise LabError(f"cannot write {value!r} to {path}: {err.strerror}") from err


class CgroupBackend:
    """Creates and removes node groups on one cgroup layout.

    Args:
        version: 1 or 2.
        bases: where groups go: one directory on v2, ``{"cpu": dir, "memory": dir}`` on v1.
    """

    def __init__(self, version: int, bases: dict[str, Path]):
        self.version = version
        self.bases = bases

    def lab_dirs(self, lab: str) -> tuple[Path, ...]:
        return tuple(base / lab for base in self.bases.values())

    def create(self, lab: str, node: str, *, cpu_cores: float, memory_bytes: int) -> NodeCgroup:
        """Make (or reuse) the node's group with its limits.

        Raises:
            LabError: a directory or limit file could not be written.
        """
        quota_us = max(1000, round(cpu_cores * CFS_PERIOD_US))
        paths: list[Path] = []
        for controller, base in self.bases.items():
            lab_dir = base / lab
            path = lab_dir / node
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise LabError(f"cannot create cgroup {path}: {err.strerror}") from err
            paths.append(path)
            if self.version == 2:
                # v2 hands controllers down explicitly, level by level.
                _write(base / "cgroup.subtree_control", "+cpu +memory")
                _write(lab_dir / "cgroup.subtree_control", "+cpu +memory")
                _write(path / "cpu.max", f"{quota_us} {CFS_PERIOD_US}")
                _write(path / "memory.max", str(memory_bytes))
                if (path / "memory.swap.max").exists():
                    _write(path / "memory.swap.max", "0")  # a limit swap cannot dodge
            elif controller == "cpu":
                _write(path / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(path / "cpu.cfs_quota_us", str(quota_us))
            elif controller == "memory":
                _write(path / "memory.limit_in_bytes", str(memory_bytes))
        return NodeCgroup(tuple(paths))

    def node_group(self, lab: str, node: str) -> NodeCgroup:
        return NodeCgroup(tuple(base / lab / node for base in self.bases.values()))


def detect_backend(cgroup_root: Path, proc_cgroup: Path) -> CgroupBackend:
    """Pick v2 where it has the cpu and memory controllers, else the v1 hierarchies.

    Raises:
        LabError: neither layout can limit CPU and memory here.
    """
    controllers = cgroup_root / "cgroup.controllers"
    if controllers.exists() and {"cpu", "memory"} <= set(controllers.read_text().split()):
        return CgroupBackend(2, {"unified": cgroup_root})
    bases: dict[str, Path] = {}
    for controller in (*_V1_CONTROLLERS, *_V1_ACCOUNTING):
        mount = cgroup_root / controller
        if controller in _V1_ACCOUNTING and not (mount / "cgroup.procs").exists():
            continue
        if any(mount.resolve() == b.resolve() for b in bases.values()):
            continue  # co-mounted (cpu,cpuacct): one directory serves both
        if not (mount / "cgroup.procs").exists():
            raise LabError(
                f"no cgroup v2 with cpu and memory at {cgroup_root}, and no v1 {controller} "
                f"hierarchy at {mount}: the lab cannot limit its nodes here"
            )
        own = _own_path(proc_cgroup, controller).lstrip("/")
        bases[controller] = mount / own if own else mount
    return CgroupBackend(1, bases)


def _pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_and_remove(paths: tuple[Path, ...] | list[Path]) -> list[str]:
    """SIGKILL whatever still runs in the groups, then remove them (children first).

    Returns:
        What could not be removed, as readable lines (empty when all went).
    """
    left: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        deadline = time.monotonic() + _EMPTY_TIMEOUT_S
        while (pids := _pids(path)) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)  # the kernel empties the group as the killed processes exit
        for child in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                child.rmdir()
        try:
            path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as err:
            left.append(f"cgroup {path}: {err.strerror}")
    return left
