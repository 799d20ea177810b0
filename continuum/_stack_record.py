"""What `continuum up` started, as the state directory records it (``run/stack.json``).

The supervisor and each component are recorded by pid *and* start time
(:class:`continuum._processes.ProcessIdentity`), written as each process starts. When the
supervisor dies without stopping its components (SIGKILL, the OOM killer), `continuum down`
and the next `continuum up` end what is left from this record, and never a process that
merely inherited a recorded pid::

    record = StackRecord.load(state)
    if record is not None and not record.supervisor_alive():
        ended = record.end_left_over()
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from continuum._processes import ProcessIdentity, stop_all
from continuum._state import StateDir

__all__ = ["RecordedComponent", "StackRecord"]

# Each component gets this long to exit on SIGTERM before SIGKILL.
_END_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class RecordedComponent:
    """One component as recorded: where it listens and which process it is."""

    name: str
    url: str
    health: str
    port: int
    process: ProcessIdentity | None

    def to_json(self) -> dict[str, Any]:
        process = self.process
        return {
            "name": self.name,
            "url": self.url,
            "health": self.health,
            "port": self.port,
            "pid": process.pid if process is not None else None,
            "start_ticks": process.start_ticks if process is not None else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RecordedComponent:
        return cls(
            name=str(raw["name"]),
            url=str(raw["url"]),
            health=str(raw["health"]),
            port=int(raw["port"]),
            process=_identity(raw.get("pid"), raw.get("start_ticks")),
        )


def _identity(pid: object, ticks: object) -> ProcessIdentity | None:
    # A record without a start time (written before they were kept) identifies nothing.
    if isinstance(pid, int) and isinstance(ticks, int) and pid > 0:
        return ProcessIdentity(pid, ticks)
    return None


@dataclass(frozen=True, slots=True)
class StackRecord:
    """The supervisor of a local stack and the components it started."""

    host: str
    supervisor: ProcessIdentity | None
    components: tuple[RecordedComponent, ...]

    def to_json(self) -> dict[str, Any]:
        supervisor = self.supervisor
        return {
            "host": self.host,
            "supervisor_pid": supervisor.pid if supervisor is not None else None,
            "supervisor_start_ticks": supervisor.start_ticks if supervisor is not None else None,
            "components": [c.to_json() for c in self.components],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StackRecord:
        return cls(
            host=str(raw.get("host", "127.0.0.1")),
            supervisor=_identity(raw.get("supervisor_pid"), raw.get("supervisor_start_ticks")),
            components=tuple(RecordedComponent.from_json(c) for c in raw.get("components", [])),
        )

    @classmethod
    def load(cls, state: StateDir) -> StackRecord | None:
        """The record in ``state``, or None when there is none (or it cannot be read)."""
        raw = state.read_json(state.stack_path)
        if raw is None:
            return None
        try:
            return cls.from_json(raw)
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, state: StateDir) -> None:
        state.write_json(state.stack_path, self.to_json())

    @staticmethod
    def remove(state: StateDir) -> None:
        with contextlib.suppress(FileNotFoundError):
            state.stack_path.unlink()

    def supervisor_alive(self) -> bool:
        return self.supervisor is not None and self.supervisor.alive()

    def left_over(self) -> list[RecordedComponent]:
        """Components whose recorded process still runs (the same process, not a reused pid)."""
        return [c for c in self.components if c.process is not None and c.process.alive()]

    def end_left_over(self, timeout_s: float = _END_TIMEOUT_S) -> list[RecordedComponent]:
        """End every component process still running, with its process group.

        Returns:
            The components that were still running (and are now ended).
        """
        left = self.left_over()
        processes: Sequence[ProcessIdentity] = [c.process for c in left if c.process is not None]
        ended = set(stop_all(processes, timeout_s, group=True))
        return [c for c in left if c.process in ended]
