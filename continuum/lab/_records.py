"""What a lab made, written down as it is made, so ``down`` can undo it even after a crash.

A process is recorded by pid *and* start time (field 22 of ``/proc/<pid>/stat``), so a pid the
kernel has since given to another program is never signalled::

    record = LabRecord.load(path) or LabRecord(name="lab")
    record.processes.append(ProcessRecord.of(pid, node="edge-1", role="agent"))
    record.save(path)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LabRecord", "ProcessRecord", "start_ticks"]


def start_ticks(pid: int, proc_root: Path = Path("/proc")) -> int | None:
    """The process's start time in clock ticks since boot, or None when it is gone."""
    try:
        text = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass(slots=True)
class ProcessRecord:
    """A process the lab started."""

    pid: int
    start_ticks: int
    node: str
    role: str

    @classmethod
    def of(cls, pid: int, *, node: str, role: str) -> ProcessRecord:
        return cls(pid, start_ticks(pid) or 0, node, role)

    def alive(self) -> bool:
        """Still the same process (same pid, same start time) and not a zombie."""
        ticks = start_ticks(self.pid)
        if ticks is None or ticks != self.start_ticks:
            return False
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        return False

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; only if it is still this process."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        # Our own children stay zombies until waited for; others' are not ours to wait.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, os.WNOHANG)


@dataclass(slots=True)
class LabRecord:
    """Everything one lab created: namespaces, root-namespace links, cgroups, processes."""

    name: str
    namespaces: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    root_routes: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    topology: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write atomically (a crash mid-write leaves the previous record)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabRecord | None:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        processes = [ProcessRecord(**p) for p in raw.pop("processes", [])]
        return cls(**raw, processes=processes)

    def add(self, kind: str, value: str, path: Path) -> None:
        """Note one more resource before it is made, and save (so a crash cannot lose it)."""
        items: list[str] = getattr(self, kind)
        if value not in items:
            items.append(value)
            self.save(path)
