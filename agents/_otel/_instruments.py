"""The latest cycle's readings, published once and read by both delivery paths.

The collection loop publishes one snapshot per cycle; the pull endpoint (on each scrape) and the
OTLP encoder (once per cycle) read that same snapshot, so a scrape never triggers a collection
and both paths report identical values::

    board = ReadingBoard(specs)
    snapshot = board.publish(runner.run_once())
    snapshot.readings["system.cpu.time"]      # the readings, by instrument
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from agents._otel._records import InstrumentSpec, Reading

__all__ = ["ReadingBoard", "Snapshot"]

_log = logging.getLogger(__name__)

_NUMBER = (int, float)
_ATTRIBUTE_VALUE = (str, int, float)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One cycle's readings.

    Attributes:
        readings: valid readings by instrument name, only for declared instruments.
        time_unix_nano: when the cycle's readings were published.
    """

    readings: Mapping[str, Sequence[Reading]] = field(default_factory=dict)
    time_unix_nano: int = 0


def _valid(reading: Reading) -> bool:
    # bool is an int; a collector handing one over meant a flag, which no instrument holds.
    if not isinstance(reading.value, _NUMBER) or isinstance(reading.value, bool):
        return False
    attributes = reading.attributes
    return isinstance(attributes, Mapping) and all(
        isinstance(k, str) and isinstance(v, _ATTRIBUTE_VALUE) for k, v in attributes.items()
    )


class ReadingBoard:
    """The declared instruments and the latest published snapshot.

    Args:
        specs: every instrument the readings may name; duplicates by name are kept once.

    Raises:
        ValueError: an instrument declared twice with different kinds, units or descriptions.
    """

    def __init__(self, specs: Iterable[InstrumentSpec]) -> None:
        self._snapshot = Snapshot()
        self._specs: dict[str, InstrumentSpec] = {}
        self._reported: set[str] = set()
        for spec in specs:
            known = self._specs.get(spec.name)
            if known is None:
                self._specs[spec.name] = spec
            elif known != spec:
                raise ValueError(f"instrument {spec.name} declared twice, differently")

    @property
    def specs(self) -> Mapping[str, InstrumentSpec]:
        """The declared instruments by name, in declaration order."""
        return self._specs

    @property
    def snapshot(self) -> Snapshot:
        """The last published snapshot (empty before the first)."""
        return self._snapshot

    def publish(
        self, readings: Mapping[str, Sequence[Reading]], time_unix_nano: int | None = None
    ) -> Snapshot:
        """Replace the snapshot both paths read.

        Readings of instruments no collector declared, non-numeric values and attributes that
        are not strings or numbers are dropped (and logged once per instrument): a collector bug
        must not cost the cycle everyone else's readings.

        Args:
            readings: the cycle's readings by instrument name.
            time_unix_nano: the cycle's time; default now.

        Returns:
            The snapshot published.
        """
        kept: dict[str, Sequence[Reading]] = {}
        for name, batch in readings.items():
            if name not in self._specs:
                self._report(name, "readings for undeclared instrument %s dropped")
                continue
            if all(_valid(r) for r in batch):
                kept[name] = batch
                continue
            self._report(name, "readings of %s with a non-numeric value or attribute dropped")
            kept[name] = [r for r in batch if _valid(r)]
        now = time.time_ns() if time_unix_nano is None else time_unix_nano
        # One reference swap: readers on other threads see the old or the new snapshot whole.
        self._snapshot = Snapshot(kept, now)
        return self._snapshot

    def _report(self, name: str, message: str) -> None:
        if name not in self._reported:
            self._reported.add(name)
            _log.warning(message, name)
