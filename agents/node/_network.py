"""Network: bytes, packets, errors and drops per interface, from ``<proc_root>/net/dev``.

``lo`` is skipped by default (loopback traffic says nothing about the node's links)::

    NetworkCollector(Path("/proc")).collect()
"""

from __future__ import annotations

import re
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._files import read_text

__all__ = ["DEFAULT_INTERFACE_SKIP", "NetworkCollector"]

#: Interfaces skipped unless configured otherwise.
DEFAULT_INTERFACE_SKIP = r"^lo$"

_C = InstrumentKind.COUNTER
# Column of each counter within the receive and the transmit halves of a net/dev line.
_COLUMNS = {
    "system.network.io": 0,
    "system.network.packet.count": 1,
    "system.network.errors": 2,
    "system.network.packet.dropped": 3,
}


class NetworkCollector:
    """Per-interface network counters.

    Args:
        proc_root: procfs mount.
        skip_interfaces: regular expression of interface names to skip.
    """

    name = "network"
    instruments = (
        InstrumentSpec("system.network.io", _C, "By", "Bytes received and transmitted."),
        InstrumentSpec(
            "system.network.packet.count", _C, "{packet}", "Packets received and transmitted."
        ),
        InstrumentSpec("system.network.errors", _C, "{error}", "Receive and transmit errors."),
        InstrumentSpec(
            "system.network.packet.dropped",
            _C,
            "{packet}",
            "Packets dropped on receive and transmit.",
        ),
    )

    def __init__(self, proc_root: Path, *, skip_interfaces: str = DEFAULT_INTERFACE_SKIP) -> None:
        self._dev = proc_root / "net" / "dev"
        self._skip = re.compile(skip_interfaces)

    def collect(self) -> list[Reading]:
        """Read net/dev once."""
        text = read_text(self._dev)
        if text is None:
            return []
        out: list[Reading] = []
        for line in text.splitlines()[2:]:
            name, sep, rest = line.partition(":")
            if not sep:
                continue
            interface = name.strip()
            fields = rest.split()
            if self._skip.match(interface) or len(fields) < 16:
                continue
            for direction, offset in (("receive", 0), ("transmit", 8)):
                attrs = {"network.io.direction": direction, "network.interface.name": interface}
                for instrument, column in _COLUMNS.items():
                    out.append(Reading(instrument, float(fields[offset + column]), attrs))
        return out
