"""Pressure stall information (PSI) for cpu, memory and io, from ``<proc_root>/pressure/*``.

Each file has ``some`` and (for memory and io, and cpu on newer kernels) ``full`` lines whose
``total`` is the cumulative stall time in microseconds (Documentation/accounting/psi.rst). A
kernel without PSI has no such directory: the collector then reports nothing::

    PressureCollector(Path("/proc")).collect()
"""

from __future__ import annotations

from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._files import read_text

__all__ = ["PressureCollector"]

_RESOURCES = ("cpu", "memory", "io")


class PressureCollector:
    """Cumulative stall time per resource and scope.

    Args:
        proc_root: procfs mount.
    """

    name = "pressure"
    instruments = (
        InstrumentSpec(
            "continuum.pressure.stall.time",
            InstrumentKind.COUNTER,
            "s",
            "Time some (or all) runnable tasks were stalled waiting for the resource.",
        ),
    )

    def __init__(self, proc_root: Path) -> None:
        self._dir = proc_root / "pressure"

    def collect(self) -> list[Reading]:
        """Read the three pressure files once."""
        out: list[Reading] = []
        for resource in _RESOURCES:
            text = read_text(self._dir / resource)
            if text is None:
                continue
            for line in text.splitlines():
                scope, _, rest = line.partition(" ")
                for field in rest.split():
                    key, _, value = field.partition("=")
                    if key == "total" and value.isdigit():
                        out.append(
                            Reading(
                                "continuum.pressure.stall.time",
                                int(value) / 1e6,
                                {"pressure.resource": resource, "pressure.scope": scope},
                            )
                        )
        return out
