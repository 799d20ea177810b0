"""Memory errors from EDAC: corrected and uncorrected counts per DIMM and per controller.

Reads ``<sys_root>/devices/system/edac/mc/mc*`` (Documentation/admin-guide/ras.rst). Where the
driver exposes DIMMs (``dimm*``, or ``rank*`` on drivers that count per rank) each reports its
own counts, and the controller reports only the errors it could not attribute to one
(``*_noinfo_count``), so summing over a node counts every error once. Drivers with neither
report the controller's totals. No EDAC (virtual machines, most laptops) is the source state
``absent``::

    EdacCollector(Path("/sys")).collect()
"""

from __future__ import annotations

import re
from pathlib import Path

from agents._otel import Reading
from agents.node._files import read_int, read_text
from agents.node._hardware import (
    CORRECTED,
    HW_ERRORS,
    HW_SOURCE_AVAILABLE,
    UNCORRECTED,
    SourceState,
    source_state,
)

__all__ = ["EdacCollector"]

_SOURCE = "edac"
_CONTROLLER = re.compile(r"^mc\d+$")
_MODULE = re.compile(r"^(dimm|rank)\d+$")


def _label(path: Path) -> str | None:
    text = read_text(path)
    return text.strip() if text and text.strip() else None


class EdacCollector:
    """EDAC memory error counters.

    Args:
        sys_root: sysfs mount.
    """

    name = "edac"
    instruments = (HW_ERRORS, HW_SOURCE_AVAILABLE)

    def __init__(self, sys_root: Path) -> None:
        self._root = sys_root / "devices" / "system" / "edac" / "mc"

    def collect(self) -> list[Reading]:
        """Read every memory controller once."""
        try:
            controllers = sorted(p for p in self._root.iterdir() if _CONTROLLER.match(p.name))
        except OSError:
            controllers = []
        if not controllers:
            return [source_state(_SOURCE, SourceState.ABSENT)]
        out = [source_state(_SOURCE, SourceState.OK)]
        for controller in controllers:
            out.extend(self._controller(controller))
        return out

    @staticmethod
    def _controller(controller: Path) -> list[Reading]:
        modules = sorted(p for p in controller.iterdir() if _MODULE.match(p.name))
        mc_name = _label(controller / "mc_name") or controller.name
        base = {"hw.type": "memory", "hw.id": controller.name, "hw.name": mc_name}
        out: list[Reading] = []
        counts = (
            (("ce_noinfo_count", CORRECTED), ("ue_noinfo_count", UNCORRECTED))
            if modules
            else (("ce_count", CORRECTED), ("ue_count", UNCORRECTED))
        )
        for file, error_type in counts:
            value = read_int(controller / file)
            if value is not None:
                out.append(
                    Reading(HW_ERRORS.name, float(value), {**base, "error.type": error_type})
                )
        for module in modules:
            attrs = {
                "hw.type": "memory",
                "hw.id": f"{controller.name}_{module.name}",
                "hw.name": _label(module / "dimm_label") or f"{controller.name} {module.name}",
                "hw.parent": controller.name,
            }
            for file, error_type in (("dimm_ce_count", CORRECTED), ("dimm_ue_count", UNCORRECTED)):
                value = read_int(module / file)
                if value is not None:
                    out.append(
                        Reading(HW_ERRORS.name, float(value), {**attrs, "error.type": error_type})
                    )
        return out
