"""What the hardware-failure collectors share: the error counter and each source's state.

``hw.errors`` is the semantic-convention counter of errors a component met, told apart by
``hw.type`` (``memory``, ``cpu``, ``physical_disk``, ``gpu``) and ``error.type``
(``corrected``, ``uncorrected``, ``io``). ``continuum.hw.source.available`` says, per source,
whether this node has it at all, so "no errors" and "nothing to read errors from" differ::

    source_state("edac", SourceState.ABSENT)
    # Reading("continuum.hw.source.available", 0.0,
    #         {"continuum.hw.source": "edac", "continuum.hw.source.state": "absent"})
"""

from __future__ import annotations

from enum import StrEnum

from agents._otel import InstrumentKind, InstrumentSpec, Reading

__all__ = [
    "CORRECTED",
    "HW_ERRORS",
    "HW_SOURCE_AVAILABLE",
    "IO",
    "UNCORRECTED",
    "SourceState",
    "source_state",
]

HW_ERRORS = InstrumentSpec(
    "hw.errors",
    InstrumentKind.COUNTER,
    "{error}",
    "Errors a hardware component reported, by error type (corrected, uncorrected, io).",
)
HW_SOURCE_AVAILABLE = InstrumentSpec(
    "continuum.hw.source.available",
    InstrumentKind.GAUGE,
    "1",
    "1 when a hardware-health source can be read on this node, else 0, with the reason.",
)

#: error.type values: errors the hardware fixed (ECC single-bit), errors it could not fix, and
#: I/O commands that completed with an error (the kernel may have retried them successfully).
CORRECTED = "corrected"
UNCORRECTED = "uncorrected"
IO = "io"


class SourceState(StrEnum):
    """Why a source gives readings or not."""

    OK = "ok"
    ABSENT = "absent"  # the kernel or driver exposes no such source here
    DISABLED = "disabled"  # switched off in the configuration
    NOT_INSTALLED = "not_installed"  # the program it needs is missing
    NOT_PERMITTED = "not_permitted"  # the agent lacks the privilege to read it
    TIMEOUT = "timeout"  # it did not answer in time
    FAILED = "failed"  # it answered with something unreadable


def source_state(source: str, state: SourceState) -> Reading:
    """The availability reading of one source."""
    return Reading(
        HW_SOURCE_AVAILABLE.name,
        1.0 if state is SourceState.OK else 0.0,
        {"continuum.hw.source": source, "continuum.hw.source.state": state.value},
    )
