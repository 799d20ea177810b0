"""What a collector returns and how its instruments are declared.

A collector is any object with a ``name``, the ``instruments`` it feeds and a ``collect()`` that
returns :class:`Reading` records; the runner calls it on a worker thread under a time budget::

    class LoadCollector:
        name = "load"
        instruments = (InstrumentSpec("system.cpu.load_average.1m", InstrumentKind.GAUGE,
                                      "{thread}", "Load average over one minute."),)

        def collect(self) -> list[Reading]:
            return [Reading("system.cpu.load_average.1m", os.getloadavg()[0])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["Collector", "InstrumentKind", "InstrumentSpec", "Reading"]


class InstrumentKind(StrEnum):
    """How a reading is reported: a current value, or a monotonic cumulative total."""

    GAUGE = "gauge"
    COUNTER = "counter"
    UP_DOWN_COUNTER = "up_down_counter"


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One OTel instrument a collector feeds.

    Attributes:
        name: the OTel name (semconv where one exists, else ``continuum.*``).
        kind: gauge, counter (cumulative, monotonic) or up-down counter.
        unit: UCUM base unit (``s``, ``By``, ``1``, ``W``, ``J``, ``Cel``, ``{thing}``).
        description: one sentence; it becomes the Prometheus HELP text.
    """

    name: str
    kind: InstrumentKind
    unit: str
    description: str


@dataclass(frozen=True, slots=True)
class Reading:
    """One observed value of an instrument.

    Attributes:
        instrument: the OTel instrument name (one of the collector's ``instruments``).
        value: the value in the instrument's unit (counters: the cumulative total).
        attributes: the data point attributes (semconv keys).
    """

    instrument: str
    value: float
    attributes: Mapping[str, str | int] = field(default_factory=dict)


@runtime_checkable
class Collector(Protocol):
    """A source of readings, called once per cycle on a worker thread.

    ``collect`` may raise or hang: the runner counts the failure or skips it past its budget.
    """

    @property
    def name(self) -> str:
        """Short name, used as the ``collector`` label of self-telemetry."""
        ...

    @property
    def instruments(self) -> Sequence[InstrumentSpec]:
        """Every instrument ``collect`` may report."""
        ...

    def collect(self) -> Sequence[Reading]:
        """Read the source once."""
        ...
