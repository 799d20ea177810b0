"""Real cgroups in runtime-shaped paths, with workloads inside, for the container agent tests.

Needs root (docs/platform.md: cgroup v1 controllers and a v2 hierarchy at
``/sys/fs/cgroup/unified``).
Every group is removed after the test, failures included: processes are stopped first, then
the groups are removed deepest first.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agents.containers._layout import V1_CONTROLLERS, CgroupLayout

CGROUP_ROOT = Path("/sys/fs/cgroup")
BURNER = Path(__file__).with_name("burner.py")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _real_layout() -> CgroupLayout:
    unified = CGROUP_ROOT / "unified"
    v1 = {c: CGROUP_ROOT / c for c in V1_CONTROLLERS if (CGROUP_ROOT / c / "cgroup.procs").exists()}
    return CgroupLayout(unified if (unified / "cgroup.controllers").exists() else None, v1)


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a live process, from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    # Fields 14 and 15 of proc(5) (utime, stime), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Workload:
    """A burner process attached to a container's groups."""

    process: subprocess.Popen[str]
    cpu_at_attach_s: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = self.process.stdout.readline()
        assert line.strip() == "ready", f"burner said {line!r}"
        assert time.monotonic() < deadline

    def cpu_used_s(self) -> float:
        """CPU seconds since it was attached (what its groups should have counted)."""
        return process_cpu_s(self.pid) - self.cpu_at_attach_s

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write("\n")
                self.process.stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@dataclass
class CgroupMaker:
    """Creates groups at a relative path in chosen hierarchies and cleans them up."""

    layout: CgroupLayout
    created: list[Path] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)

    def hierarchies(self, v2: bool, v1: bool) -> list[Path]:
        roots: list[Path] = []
        if v2 and self.layout.unified is not None:
            roots.append(self.layout.unified)
        if v1:
            roots.extend(p for p in dict.fromkeys(self.layout.v1.values()))
        return roots

    def make(self, rel_path: str, *, v2: bool = True, v1: bool = True) -> list[Path]:
        """Create the group (and missing parents) in the chosen hierarchies."""
        groups = []
        for root in self.hierarchies(v2, v1):
            path = root
            for part in rel_path.split("/"):
                path = path / part
                if not path.exists():
                    path.mkdir()
                    self.created.append(path)
            groups.append(path)
        return groups

    def run(self, groups: list[Path], cpu_s: float, memory_mb: int, net_bytes: int = 0) -> Workload:
        """Start a burner, attach it to ``groups``, and let it go."""
        argv = [sys.executable, str(BURNER), str(cpu_s), str(memory_mb), str(net_bytes)]
        if net_bytes:
            argv = ["unshare", "--net", *argv]
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        workload = Workload(process, 0.0)
        self.workloads.append(workload)
        for group in groups:
            (group / "cgroup.procs").write_text(str(process.pid))
        workload.cpu_at_attach_s = process_cpu_s(process.pid)
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        return workload

    def remove(self, groups: list[Path]) -> None:
        """Remove groups (their processes must have exited)."""
        for group in groups:
            _rmdir(group)
            if group in self.created:
                self.created.remove(group)

    def cleanup(self) -> None:
        for workload in self.workloads:
            workload.stop()
        for path in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
            _rmdir(path)
        self.created.clear()


def _rmdir(path: Path) -> None:
    # A group is busy for a moment after its last process exits; retry briefly.
    deadline = time.monotonic() + 10
    while path.exists():
        try:
            path.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def container_id() -> str:
    """A fresh 64-hex container id."""
    return secrets.token_hex(32)


def pod_uid() -> str:
    """A fresh pod uid, dashed like the API server's."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@pytest.fixture
def cgroups() -> Iterator[CgroupMaker]:
    """Make real cgroups; skipped unless root on a node with cgroups mounted."""
    if os.geteuid() != 0:
        pytest.skip("creating cgroups needs root")
    layout = _real_layout()
    if layout.unified is None or not layout.v1:
        pytest.skip("needs both a cgroup v2 hierarchy and v1 controllers")
    maker = CgroupMaker(layout)
    try:
        yield maker
    finally:
        maker.cleanup()
