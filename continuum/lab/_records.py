"""What a lab made, written down as it is made, so ``down`` can undo it even after a crash.

A process is recorded by pid *and* start time (field 22 of ``/proc/<pid>/stat``), so a pid the
kernel has since given to another program is never signalled::

    record = LabRecord.load(path) or LabRecord(name="lab")
    record.processes.append(ProcessRecord.of(pid, node="edge-1", role="agent"))
    record.save(path)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The same process identity as the local stack's records (one helper for both).
from continuum._processes import ProcessIdentity, start_ticks

__all__ = ["LabRecord", "ProcessRecord", "start_ticks"]


@dataclass(slots=True)
class ProcessRecord:
    """A process the lab started: its identity and which node and role it serves."""

    pid: int
    start_ticks: int
    node: str
    role: str

    @classmethod
    def of(cls, pid: int, *, node: str, role: str) -> ProcessRecord:
        return cls(pid, start_ticks(pid) or 0, node, role)

    @property
    def identity(self) -> ProcessIdentity:
        return ProcessIdentity(self.pid, self.start_ticks)

    def alive(self) -> bool:
        """Still the same process (same pid, same start time) and not a zombie."""
        return self.identity.alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; only if it is still this process."""
        self.identity.stop(timeout_s)


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
