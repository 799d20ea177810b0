"""Processes known by pid *and* start time, and children that die with their parent.

A pid alone names a process only while it lives: once it exits, the kernel may hand the number
to another program. Field 22 of ``/proc/<pid>/stat`` (the start time in clock ticks since boot)
tells the two apart, so a recorded process is signalled only while both still agree. The local
stack (``continuum up``) and the lab (``continuum lab``) keep their records with this::

    identity = ProcessIdentity.of(child.pid)
    ...
    identity.stop(timeout_s=5.0, group=True)     # nothing happens if the pid was reused

:func:`die_with_parent` makes a child get a signal when the process that spawned it dies, even
by SIGKILL (Linux ``prctl(PR_SET_PDEATHSIG)``)::

    subprocess.Popen(argv, preexec_fn=die_with_parent())
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessIdentity", "die_with_parent", "start_ticks", "stop_all"]

_PROC = Path("/proc")
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_S = 0.05


def start_ticks(pid: int, proc_root: Path = _PROC) -> int | None:
    """The process's start time in clock ticks since boot, or None when it is gone."""
    try:
        text = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[19])


def _state(pid: int, proc_root: Path = _PROC) -> str | None:
    """The process's state letter (``R``, ``S``, ``Z``...), or None when it is gone."""
    try:
        text = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()[0]


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """One process: its pid and the start time that makes the pid unambiguous."""

    pid: int
    start_ticks: int

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the live process ``pid``, or None when there is none."""
        ticks = start_ticks(pid)
        return None if ticks is None else cls(pid, ticks)

    def alive(self) -> bool:
        """Still the same process (same pid, same start time) and not a zombie."""
        if self.pid <= 0 or start_ticks(self.pid) != self.start_ticks:
            return False
        return _state(self.pid) not in (None, "Z")

    def send(self, signum: int, *, group: bool = False) -> bool:
        """Signal the process (or its process group, which it leads); False if it is gone."""
        if not self.alive():
            return False
        try:
            if group:
                try:
                    os.killpg(self.pid, signum)
                except ProcessLookupError:
                    os.kill(self.pid, signum)  # it leads no group of its own
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout_s: float = 5.0, *, group: bool = False) -> bool:
        """SIGTERM, then SIGKILL after ``timeout_s``; only while it is still this process.

        Returns:
            Whether the process was alive (and so has now been ended).
        """
        if not self.send(signal.SIGTERM, group=group):
            self._reap()
            return False
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            self._reap()
            time.sleep(_POLL_S)
        if self.alive():
            self.send(signal.SIGKILL, group=group)
            deadline = time.monotonic() + 5.0
            while self.alive() and time.monotonic() < deadline:
                self._reap()
                time.sleep(_POLL_S)
        elif group:
            # The leader went on SIGTERM; members that stayed behind go now.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        self._reap()
        return True

    def _reap(self) -> None:
        # Our own children stay zombies until waited for; others' are not ours to wait.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, os.WNOHANG)


def stop_all(
    processes: Sequence[ProcessIdentity], timeout_s: float = 10.0, *, group: bool = False
) -> list[ProcessIdentity]:
    """Stop several processes at once: SIGTERM to all, SIGKILL to those left after ``timeout_s``.

    Returns:
        Those that were alive (and so have now been ended); reused pids are left alone.
    """
    ended = [p for p in processes if p.send(signal.SIGTERM, group=group)]
    deadline = time.monotonic() + timeout_s
    while any(p.alive() for p in ended) and time.monotonic() < deadline:
        for process in ended:
            process._reap()
        time.sleep(_POLL_S)
    for process in ended:
        process.stop(0.0, group=group)  # SIGKILL what is left
        if group:
            # Members that outlived their leader. The group id cannot have been reused while
            # any member holds it, and it was checked moments ago, with the leader.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
    return ended


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent ``signum`` when this process dies.

    The kernel ties the parent-death signal to the *thread* that forked the child, so spawn
    long-lived children from a thread that lives as long as the process (the main thread).
    The setting survives ``execve`` except into set-user-ID or file-capability programs.

    Returns:
        None where the platform has no ``prctl`` (the child then simply outlives its parent).
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        # Only async-signal-safe work here: the child of a threaded parent holds no locks.
        if prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            os._exit(127)
        # The parent may have died between fork and prctl, and then no signal will come.
        if os.getppid() != parent:
            os._exit(1)

    return preexec
