"""Machine-check exceptions, from the ``MCE`` line of ``/proc/interrupts``.

x86 kernels count the machine-check exceptions each CPU took (``MCE: <per-CPU counts> Machine
check exceptions``, arch/x86/kernel/irq.c). The CPU raises one for a hardware error it could not
correct (corrected ones are only logged, through polling or CMCI), so the total is reported as
``hw.errors`` of the CPUs with ``error.type`` ``uncorrected``. Kernels without the line (other
architectures) give the source state ``absent``::

    MceCollector(Path("/proc")).collect()
"""

from __future__ import annotations

from pathlib import Path

from agents._otel import Reading
from agents.node._files import read_text
from agents.node._hardware import (
    HW_ERRORS,
    HW_SOURCE_AVAILABLE,
    UNCORRECTED,
    SourceState,
    source_state,
)

__all__ = ["MceCollector", "machine_check_exceptions"]

_SOURCE = "mce"


def machine_check_exceptions(interrupts: str) -> int | None:
    """The sum over CPUs of the ``MCE:`` line, or None when the line is missing."""
    for line in interrupts.splitlines():
        label, _, rest = line.strip().partition(":")
        if label != "MCE":
            continue
        total = 0
        for field in rest.split():
            if not field.isdigit():
                break  # the description follows the per-CPU counts
            total += int(field)
        return total
    return None


class MceCollector:
    """Machine-check exceptions since boot.

    Args:
        proc_root: procfs mount.
    """

    name = "mce"
    instruments = (HW_ERRORS, HW_SOURCE_AVAILABLE)

    def __init__(self, proc_root: Path) -> None:
        self._interrupts = proc_root / "interrupts"

    def collect(self) -> list[Reading]:
        """Read /proc/interrupts once."""
        text = read_text(self._interrupts)
        count = None if text is None else machine_check_exceptions(text)
        if count is None:
            return [source_state(_SOURCE, SourceState.ABSENT)]
        attrs = {
            "hw.type": "cpu",
            "hw.id": "mce",
            "hw.name": "machine check exceptions",
            "error.type": UNCORRECTED,
        }
        return [source_state(_SOURCE, SourceState.OK), Reading(HW_ERRORS.name, float(count), attrs)]
