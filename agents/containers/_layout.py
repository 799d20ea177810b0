"""Find the cgroup hierarchies a node has: v2 (unified), v1 controllers, or both (hybrid).

The layout is read once at start, under a configurable root so tests can point it at a fixture
tree::

    layout = detect_layout(Path("/sys/fs/cgroup"))
    layout.unified      # Path("/sys/fs/cgroup/unified") on a hybrid node, the root on pure v2
    layout.v1           # {"cpu": ..., "cpuacct": ..., "memory": ..., "pids": ..., "blkio": ...}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["V1_CONTROLLERS", "CgroupLayout", "detect_layout"]

#: The v1 controllers the agent reads.
V1_CONTROLLERS: tuple[str, ...] = ("cpu", "cpuacct", "memory", "pids", "blkio")


@dataclass(frozen=True, slots=True)
class CgroupLayout:
    """Where each hierarchy is mounted.

    Attributes:
        unified: the cgroup v2 hierarchy, if the node has one.
        v1: v1 controller name to its hierarchy (``cpu`` and ``cpuacct`` may share one).
    """

    unified: Path | None = None
    v1: dict[str, Path] = field(default_factory=dict)

    def walk_roots(self) -> list[Path]:
        """Every distinct hierarchy to walk, v2 first (co-mounted v1 controllers once)."""
        roots: list[Path] = [] if self.unified is None else [self.unified]
        for path in self.v1.values():
            if path not in roots:
                roots.append(path)
        return roots

    @property
    def empty(self) -> bool:
        """True when no hierarchy was found."""
        return self.unified is None and not self.v1


def detect_layout(cgroup_root: Path) -> CgroupLayout:
    """Detect the hierarchies under ``cgroup_root``.

    Args:
        cgroup_root: where cgroups are mounted (``/sys/fs/cgroup`` on the host,
            ``/host/sys/fs/cgroup`` in a DaemonSet).

    Returns:
        The layout; empty when nothing is mounted there (the agent then reports no containers).
    """
    # Pure v2: the root itself is the unified hierarchy (systemd's default since v247).
    if (cgroup_root / "cgroup.controllers").is_file():
        return CgroupLayout(unified=cgroup_root)
    unified_dir = cgroup_root / "unified"
    unified = unified_dir if (unified_dir / "cgroup.controllers").is_file() else None
    v1: dict[str, Path] = {}
    for controller in V1_CONTROLLERS:
        path = cgroup_root / controller
        if path.is_dir() and (path / "cgroup.procs").is_file():
            # `cpu` and `cpuacct` are often symlinks to one `cpu,cpuacct` mount.
            v1[controller] = Path(os.path.realpath(path))
    return CgroupLayout(unified=unified, v1=v1)
