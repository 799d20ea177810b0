"""Turning decoded points into clean samples: the part the OTLP and text paths share.

A :class:`SampleBuilder` holds the cleaner, the aggregator and the series cache. A decoder calls
:meth:`SampleBuilder.start` for each resource (node), :meth:`SampleBuilder.add` for each point,
and :meth:`SampleBuilder.finish` at the end of the record::

    builder.begin_record()
    builder.start(node="n1", identity=(("node", "n1"), ("site", "s"), ("tier", "edge")))
    builder.add("system_cpu_utilization", (("cpu_mode", "idle"),), ts_ms, 0.9, GAUGE)
    groups = builder.finish()   # [NodeSamples(node, samples, aggregates, newest_ts_ms)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline._aggregate import Aggregator
from pipeline._clean import COUNTER, GAUGE, Cleaner
from pipeline._naming import label_name
from pipeline._remote_write import SeriesRef

__all__ = ["NodeSamples", "Sample", "SampleBuilder"]

#: One sample ready to send.
Sample = tuple[SeriesRef, int, float]

_MAX_CACHED_SERIES = 500_000


@dataclass(slots=True)
class NodeSamples:
    """The clean samples of one node from one record.

    Attributes:
        node: the node id (series of one node always go through the same writer shard).
        samples: raw samples in arrival order.
        aggregates: the node's ``continuum:*`` aggregates updated by these samples.
        newest_ts_ms: the newest sample timestamp (0 when there is none).
    """

    node: str
    samples: list[Sample] = field(default_factory=list)
    aggregates: list[Sample] = field(default_factory=list)
    newest_ts_ms: int = 0


class SampleBuilder:
    """Validates, converts and collects samples of one record at a time.

    Args:
        cleaner: the cleaning rules and per-series state.
        aggregator: per-node windows fed with the raw samples they need (None: no aggregates).
    """

    def __init__(self, cleaner: Cleaner, aggregator: Aggregator | None):
        self.cleaner = cleaner
        self.aggregator = aggregator
        self._series_cache: dict[tuple[object, ...], SeriesRef | str] = {}
        self._delta_totals: dict[SeriesRef, float] = {}
        self._groups: list[NodeSamples] = []
        self._current: NodeSamples | None = None
        self._identity: tuple[tuple[str, str], ...] = ()
        self._now_ms = 0
        self._inputs = aggregator.input_names if aggregator is not None else frozenset()
        #: Bumped whenever cached :class:`SeriesRef` objects may have been forgotten by the
        #: cleaner; anything else holding them (record templates) must drop them then.
        self.generation = 0

    def begin_record(self) -> None:
        """Start a record: read the clock once and forget the previous record's groups."""
        self._groups = []
        self._current = None
        self._now_ms = self.cleaner.now_ms()
        self.cleaner.begin_record()

    def start(self, node: str, identity: tuple[tuple[str, str], ...]) -> None:
        """Start the samples of one resource: ``identity`` labels go on every series."""
        for group in self._groups:
            if group.node == node:
                self._current = group
                break
        else:
            self._current = NodeSamples(node)
            self._groups.append(self._current)
        self._identity = identity

    def clear_cache(self) -> None:
        """Forget cached series (after :meth:`Cleaner.expire`, which unregisters some)."""
        self._series_cache.clear()
        self._delta_totals = {s: v for s, v in self._delta_totals.items() if s.tracked}
        self.generation += 1

    def resolve(self, name: str, labels: Sequence[tuple[str, str]]) -> SeriesRef | str:
        """Return the series of ``name`` + identity + ``labels``, or why it is dropped (cached).

        Label keys may be raw attribute keys: they are translated here, once per series. Nothing
        is counted: the caller counts the drop each time it skips a sample for the reason.
        """
        cache_key = (self._identity, name, tuple(labels))
        series = self._series_cache.get(cache_key)
        if series is None:
            if len(self._series_cache) >= _MAX_CACHED_SERIES:
                self._series_cache.clear()
            translated = [(label_name(k), v) for k, v in labels]
            key = self.cleaner.check_series(name, (*self._identity, *translated))
            assert self._current is not None, "start() a resource before adding samples"
            series = key if isinstance(key, str) else self.cleaner.intern(key, self._current.node)
            self._series_cache[cache_key] = series
        return series

    def series(self, name: str, labels: Sequence[tuple[str, str]]) -> SeriesRef | None:
        """Like :meth:`resolve`, but a dropped series is counted and comes back as None."""
        series = self.resolve(name, labels)
        if isinstance(series, str):
            self.cleaner.drop(series)
            return None
        return series

    def add(
        self,
        name: str,
        labels: Sequence[tuple[str, str]],
        ts_ms: int,
        value: float,
        kind: int,
        *,
        delta: bool = False,
    ) -> None:
        """Clean one point and keep it if it passes; ``delta`` sums are made cumulative."""
        series = self.series(name, labels)
        if series is not None:
            self.add_series(series, name, ts_ms, value, kind, delta=delta)

    def add_series(
        self,
        series: SeriesRef,
        name: str,
        ts_ms: int,
        value: float,
        kind: int,
        *,
        delta: bool = False,
    ) -> None:
        """Like :meth:`add` for a series key already validated by :meth:`series`."""
        group = self._current
        assert group is not None, "start() a resource before adding samples"
        if delta:
            # Prometheus counters are cumulative: keep a running total per series.
            if value != value or value < 0:
                self.cleaner.drop("non_finite" if value != value else "negative_counter")
                return
            value = self._delta_totals.get(series, 0.0) + value
            self._delta_totals[series] = value
            self.cleaner.adjust("delta_to_cumulative")
            kind = COUNTER
        if not self.cleaner.accept(series, ts_ms, value, kind, self._now_ms):
            return
        group.samples.append((series, ts_ms, value))
        if ts_ms > group.newest_ts_ms:
            group.newest_ts_ms = ts_ms
        if name in self._inputs and self.aggregator is not None:
            self.aggregator.observe(group.node, self._identity, name, series.labels, ts_ms, value)

    def newest_ts_ms(self) -> int:
        """The newest accepted sample timestamp of the current node in this record."""
        return self._current.newest_ts_ms if self._current is not None else 0

    def finish(self) -> list[NodeSamples]:
        """End the record: attach each node's updated aggregates and return the groups."""
        groups = self._groups
        if self.aggregator is not None:
            for group in groups:
                for labels, ts_ms, value in self.aggregator.collect(group.node):
                    # Aggregates pass the same checks as raw samples, under their own names.
                    series = self.cleaner.intern(labels, group.node)
                    if self.cleaner.accept(series, ts_ms, value, GAUGE, self._now_ms):
                        group.aggregates.append((series, ts_ms, value))
        self._groups = []
        self._current = None
        return groups
