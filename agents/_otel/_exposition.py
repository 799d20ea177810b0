"""The pull path's view of a snapshot: Prometheus metric families with the identity labels.

Each declared instrument with readings becomes one family named by the standard OTel-to-Prometheus
translation (:mod:`agents._otel._promnames`): gauges and up-down counters as gauges (the spec's
rule for non-monotonic cumulative sums), counters as counters; the description is the HELP text
and the unit the family's unit. Every sample carries the identity labels ``node``, ``tier``,
``site`` (the pipeline puts the same on the push path, so both give identical series), and the
rest of the resource goes to ``target_info``::

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(board, identity_labels(identity), resource))
    generate_latest(registry)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from agents._otel._instruments import ReadingBoard
from agents._otel._promnames import family_name, label_name, label_value, unit_suffix
from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents._otel._resource import IDENTITY_ATTRIBUTES, Resource

__all__ = ["SnapshotCollector"]


@dataclass(frozen=True, slots=True)
class _Family:
    """The Prometheus side of an instrument, translated once."""

    name: str
    unit: str
    counter: bool
    help_text: str


def _family(spec: InstrumentSpec) -> _Family:
    return _Family(
        family_name(spec.name),
        unit_suffix(spec.unit),
        spec.kind is InstrumentKind.COUNTER,
        spec.description,
    )


class SnapshotCollector:
    """A prometheus_client collector serving a board's latest snapshot.

    Args:
        board: where the agent publishes each cycle's readings.
        labels: the identity labels (``node``, ``tier``, ``site``) to add to every sample.
        resource: the agent's resource; all but the identity attributes go to ``target_info``.
    """

    def __init__(self, board: ReadingBoard, labels: Mapping[str, str], resource: Resource) -> None:
        self._board = board
        self._identity_names = list(labels)
        self._identity_values = list(labels.values())
        self._identity_set = frozenset(labels)
        info_labels = dict(labels)
        for key, value in resource.attributes.items():
            if key not in IDENTITY_ATTRIBUTES:
                info_labels[label_name(key)] = label_value(value)
        self._target_info = InfoMetricFamily("target", "Target metadata", value=info_labels)
        self._families = {name: _family(spec) for name, spec in board.specs.items()}
        self._label_names: dict[str, str] = {}

    def _label(self, key: str) -> str:
        name = self._label_names.get(key)
        if name is None:
            name = self._label_names[key] = label_name(key)
        return name

    def collect(self) -> Iterator[Metric]:
        """Yield ``target_info`` and one family per instrument in the latest snapshot."""
        yield self._target_info
        readings = self._board.snapshot.readings
        for name, family in self._families.items():
            batch = readings.get(name)
            if batch:
                yield self._translate(family, batch)

    def _translate(self, family: _Family, readings: Sequence[Reading]) -> Metric:
        rows = [{self._label(k): label_value(v) for k, v in r.attributes.items()} for r in readings]
        # Identity labels win over an attribute that happens to translate to the same name.
        keys = sorted({k for row in rows for k in row} - self._identity_set)
        kind = CounterMetricFamily if family.counter else GaugeMetricFamily
        metric = kind(
            family.name, family.help_text, labels=[*keys, *self._identity_names], unit=family.unit
        )
        for row, reading in zip(rows, readings, strict=True):
            # A series without an attribute its siblings have gets it empty, as the exporter does.
            values = [row.get(k, "") for k in keys]
            metric.add_metric([*values, *self._identity_values], reading.value)
        return metric
