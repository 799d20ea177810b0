"""What an attempt cost where it ran: CPU seconds, bytes read and written, peak memory.

Measured in the worker process around the task call. CPU is the change in ``getrusage`` user
plus system time of the worker and of the children it waited for; bytes are the change in
``rchar`` and ``wchar`` of ``/proc/self/io``. Peak memory is the worker's high-water mark
(``VmHWM`` in ``/proc/self/status``), reset before the call by writing ``5`` to
``/proc/self/clear_refs`` (Documentation/filesystems/proc.rst), since a pool worker runs many
tasks; where the reset is refused the mark covers the worker's life and is an upper bound. A
child that grew larger than any before counts too (``ru_maxrss`` of ``RUSAGE_CHILDREN``)::

    with measuring() as meter:
        task()
    meter.usage.cpu_s, meter.usage.peak_memory_bytes
"""

from __future__ import annotations

import contextlib
import re
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TaskUsage", "measuring"]

_PROC_SELF = Path("/proc/self")
_HWM = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)
_IO = re.compile(r"^(rchar|wchar):\s+(\d+)", re.MULTILINE)
_KIB = 1024


@dataclass(frozen=True, slots=True)
class TaskUsage:
    """What one attempt used (zeros where it was not measured).

    Attributes:
        cpu_s: user plus system CPU seconds of the task and the children it waited for.
        read_bytes: bytes the worker read during the task (``rchar``).
        written_bytes: bytes it wrote (``wchar``).
        peak_memory_bytes: the largest resident set it reached.
    """

    cpu_s: float = 0.0
    read_bytes: int = 0
    written_bytes: int = 0
    peak_memory_bytes: int = 0


@dataclass(slots=True)
class _Meter:
    usage: TaskUsage = field(default_factory=TaskUsage)


def _cpu_s() -> tuple[float, int]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, children.ru_maxrss * _KIB  # Linux reports kilobytes


def _io(proc_self: Path) -> dict[str, int]:
    try:
        text = (proc_self / "io").read_text()
    except OSError:
        return {}
    return {name: int(value) for name, value in _IO.findall(text)}


def _high_water_mark(proc_self: Path) -> int:
    try:
        found = _HWM.search((proc_self / "status").read_text())
    except OSError:
        return 0
    return int(found.group(1)) * _KIB if found else 0


def _reset_high_water_mark(proc_self: Path) -> None:
    # Kernels before 4.0, or a sandbox that forbids it: the mark is then an upper bound.
    with contextlib.suppress(OSError):
        (proc_self / "clear_refs").write_text("5")


@contextmanager
def measuring(proc_self: Path = _PROC_SELF) -> Iterator[_Meter]:
    """Measure the block; the meter's ``usage`` is set when it ends."""
    meter = _Meter()
    _reset_high_water_mark(proc_self)
    cpu_before, child_peak_before = _cpu_s()
    io_before = _io(proc_self)
    try:
        yield meter
    finally:
        cpu_after, child_peak_after = _cpu_s()
        io_after = _io(proc_self)
        peak = _high_water_mark(proc_self)
        if child_peak_after > child_peak_before:
            peak = max(peak, child_peak_after)
        meter.usage = TaskUsage(
            cpu_s=max(0.0, cpu_after - cpu_before),
            read_bytes=max(0, io_after.get("rchar", 0) - io_before.get("rchar", 0)),
            written_bytes=max(0, io_after.get("wchar", 0) - io_before.get("wchar", 0)),
            peak_memory_bytes=peak,
        )
