"""An SDK ``MeterProvider`` whose observable instruments report the board's latest snapshot.

Each declared instrument becomes an observable gauge, counter or up-down counter; its callback
hands the SDK the readings of the last published snapshot, so a reader's collection (a scrape of
``/metrics``, or the cycle's push) never runs a collector, and both paths report the same
values. The SDK owns aggregation, start times and temporality::

    meter = SnapshotMeter(board, resource, "continuum.agents.node", [prometheus, push])
    snapshot = board.publish(readings)
    meter.forget_vanished(snapshot)     # series that left the snapshot leave the SDK too
    push.collect()                      # -> KafkaMetricExporter.export(...)
    meter.shutdown()

A series that leaves the snapshot (a container that stopped) would otherwise stay in every
reader's storage for the life of the process, and past the SDK's cardinality limit new series
would be folded into an overflow series; :meth:`SnapshotMeter.forget_vanished` drops them. That
reaches into SDK internals, which is why the SDK is pinned to one version in pyproject.toml, and
tests/unit/agents/otel/test_meter.py holds it to container churn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
)
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource as SdkResource

from agents._otel._instruments import ReadingBoard, Snapshot
from agents._otel._records import InstrumentKind
from agents._otel._resource import Resource

__all__ = ["CARDINALITY_LIMIT", "SnapshotMeter", "cardinality_limits"]

_log = logging.getLogger(__name__)

#: Series one instrument may have in one collection. The snapshot is bounded by what the host
#: has (a node with a thousand containers has a few thousand cpu.time series); the SDK's default
#: of 2,000 would fold the rest into an overflow series.
CARDINALITY_LIMIT = 100_000


def cardinality_limits() -> dict[Any, int]:
    """The readers' ``cardinality_limits`` for the agents' observable instruments."""
    return {
        ObservableGauge: CARDINALITY_LIMIT,
        ObservableCounter: CARDINALITY_LIMIT,
        ObservableUpDownCounter: CARDINALITY_LIMIT,
    }


_Callback = Callable[[CallbackOptions], Iterable[Observation]]


class SnapshotMeter:
    """The SDK's instruments over a :class:`ReadingBoard`.

    Args:
        board: where the agent publishes each cycle's readings; its specs are the instruments.
        resource: the agent's resource, exactly (none of the SDK's defaults, no
            ``OTEL_RESOURCE_ATTRIBUTES``: pull and push carry the same identity).
        scope_name: the instrumentation scope (``continuum.agents.<agent>``).
        readers: the SDK readers (the Prometheus reader, the push reader).
    """

    def __init__(
        self,
        board: ReadingBoard,
        resource: Resource,
        scope_name: str,
        readers: Sequence[MetricReader],
    ) -> None:
        self._board = board
        self.provider = MeterProvider(
            metric_readers=list(readers),
            resource=SdkResource(dict(resource.attributes)),
            # Observations come from snapshots, never from a traced request: no exemplars.
            exemplar_filter=AlwaysOffExemplarFilter(),
            shutdown_on_exit=False,
        )
        meter = self.provider.get_meter(scope_name)
        create = {
            InstrumentKind.GAUGE: meter.create_observable_gauge,
            InstrumentKind.COUNTER: meter.create_observable_counter,
            InstrumentKind.UP_DOWN_COUNTER: meter.create_observable_up_down_counter,
        }
        for name, spec in board.specs.items():
            create[spec.kind](
                name,
                callbacks=[self._observe(name)],
                unit=spec.unit,
                description=spec.description,
            )

    def _observe(self, name: str) -> _Callback:
        board = self._board

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            readings = board.snapshot.readings.get(name, ())
            return [Observation(r.value, r.attributes) for r in readings]

        return observe

    def _storages(self) -> Iterable[Any]:
        # MeterProvider -> measurement consumer -> one storage per reader (SDK internals).
        consumer: Any = getattr(self.provider, "_measurement_consumer")  # noqa: B009
        return list(consumer._reader_storages.values())

    @property
    def tracked_series(self) -> int:
        """Series the SDK holds state for, over all readers."""
        return sum(
            len(match._attributes_aggregation)
            for storage in self._storages()
            for matches in list(storage._instrument_view_instrument_matches.values())
            for match in matches
        )

    def forget_vanished(self, snapshot: Snapshot) -> None:
        """Drop the SDK's state of every series not in ``snapshot``.

        Call it right after publishing: a series seen again later starts over, with a new start
        time, as its source's counters did.
        """
        live = {
            name.lower(): {frozenset(r.attributes.items()) for r in batch}
            for name, batch in snapshot.readings.items()
        }
        consumer: Any = getattr(self.provider, "_measurement_consumer")  # noqa: B009
        # The consumer's lock is the one every collection holds: no reader collects meanwhile.
        with consumer._lock:
            for storage in self._storages():
                instruments = list(storage._instrument_view_instrument_matches.items())
                for instrument, matches in instruments:
                    keep = live.get(instrument.name, set())
                    for match in matches:
                        with match._lock:
                            held = match._attributes_aggregation
                            kept = {
                                key: aggregation
                                for key, aggregation in held.items()
                                if frozenset((aggregation._attributes or {}).items()) in keep
                            }
                            if len(kept) != len(held):
                                match._attributes_aggregation = kept

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Shut the readers down (the push reader's exporter delivers, then spools); never raises.

        The SDK raises when a reader overran the deadline; the exporter has spooled what it
        could not deliver by then, which is all a shutdown owes.
        """
        # A reader whose turn comes past the deadline is not shut at all: give each a moment.
        timeout_ms = max(timeout_s * 1000, 100.0)
        try:
            self.provider.shutdown(timeout_millis=timeout_ms)
        except Exception as err:
            _log.warning("metric readers did not shut down cleanly: %s", err)
