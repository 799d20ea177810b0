"""Observable instruments fed from the latest cycle's readings.

The collection loop publishes one snapshot per cycle; every reader (the pull endpoint on each
scrape, the push reader once per cycle) observes that same snapshot, so a scrape never triggers
a collection and both paths report identical values::

    board = ReadingBoard(meter, specs)
    board.publish(runner.run_once())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from agents._otel._records import InstrumentKind, InstrumentSpec, Reading

__all__ = ["ReadingBoard"]

_log = logging.getLogger(__name__)


class ReadingBoard:
    """Registers observable instruments and serves them the latest published readings.

    Args:
        meter: the meter to register on.
        specs: every instrument the readings may name; duplicates by name are registered once.
    """

    def __init__(self, meter: Meter, specs: Iterable[InstrumentSpec]) -> None:
        self._snapshot: Mapping[str, Sequence[Reading]] = {}
        self._specs: dict[str, InstrumentSpec] = {}
        self._reported: set[str] = set()
        for spec in specs:
            known = self._specs.get(spec.name)
            if known is not None:
                if known != spec:
                    raise ValueError(f"instrument {spec.name} declared twice, differently")
                continue
            self._specs[spec.name] = spec
            self._register(meter, spec)

    @property
    def specs(self) -> Mapping[str, InstrumentSpec]:
        """The registered instruments by name."""
        return self._specs

    def publish(self, readings: Mapping[str, Sequence[Reading]]) -> None:
        """Replace the snapshot every reader observes.

        Readings of instruments no collector declared are dropped (and logged once each): a
        collector bug must not cost the cycle everyone else's readings.
        """
        unknown = set(readings) - set(self._specs)
        for name in unknown - self._reported:
            self._reported.add(name)
            _log.warning("readings for undeclared instrument %s dropped", name)
        # One reference swap: readers on other threads see the old or the new snapshot whole.
        self._snapshot = {k: v for k, v in readings.items() if k not in unknown}

    def _callback(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(r.value, dict(r.attributes)) for r in self._snapshot.get(name, ())]

        return observe

    def _register(self, meter: Meter, spec: InstrumentSpec) -> None:
        callbacks = [self._callback(spec.name)]
        if spec.kind is InstrumentKind.COUNTER:
            meter.create_observable_counter(spec.name, callbacks, spec.unit, spec.description)
        elif spec.kind is InstrumentKind.UP_DOWN_COUNTER:
            meter.create_observable_up_down_counter(
                spec.name, callbacks, spec.unit, spec.description
            )
        else:
            meter.create_observable_gauge(spec.name, callbacks, spec.unit, spec.description)
