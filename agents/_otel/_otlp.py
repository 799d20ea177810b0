"""OTLP encoding of a snapshot, split into messages that fit under Kafka's size limit.

Gauges become OTLP gauges, counters cumulative monotonic sums, up-down counters cumulative
non-monotonic sums, under one resource and the scope ``continuum.agents.<agent>``. A sum's
start time is when this process first saw the series; a series that leaves the snapshot is
forgotten, so containers that come and go leave no state behind::

    encoder = OtlpEncoder(resource, "continuum.agents.node", board.specs)
    request = encoder.encode(board.publish(readings))
    payloads = [r.SerializeToString() for r in split_request(request, max_bytes=900_000)]
    count_points(request)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_CUMULATIVE,
    Metric,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ResourceMessage

from agents._otel._instruments import Snapshot
from agents._otel._records import InstrumentKind, InstrumentSpec
from agents._otel._resource import Resource

__all__ = ["OtlpEncoder", "count_points", "split_request"]

_log = logging.getLogger(__name__)

# A series: its instrument and its attributes, in any order.
_SeriesKey = tuple[str, frozenset[tuple[str, object]]]


def _set_value(target: AnyValue, value: str | int | float) -> None:
    # The SDK's encoder's choice of fields, so the pipeline decodes our bytes as a stock SDK's.
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    else:
        target.double_value = value


def _add_attributes(
    target: RepeatedCompositeFieldContainer[KeyValue], attributes: Mapping[str, str | int | float]
) -> None:
    for key, value in attributes.items():
        _set_value(target.add(key=key).value, value)


class OtlpEncoder:
    """Turns snapshots into ``ExportMetricsServiceRequest`` messages.

    Args:
        resource: the agent's resource.
        scope_name: the instrumentation scope (``continuum.agents.<agent>``).
        specs: the declared instruments, in the order they are encoded.
    """

    def __init__(
        self, resource: Resource, scope_name: str, specs: Mapping[str, InstrumentSpec]
    ) -> None:
        self._resource = ResourceMessage()
        _add_attributes(self._resource.attributes, resource.attributes)
        self._scope_name = scope_name
        self._specs = specs
        self._first_seen_ns: dict[_SeriesKey, int] = {}

    @property
    def tracked_series(self) -> int:
        """Sum series whose start time is remembered (the live ones)."""
        return len(self._first_seen_ns)

    def encode(self, snapshot: Snapshot) -> ExportMetricsServiceRequest:
        """Encode one snapshot; instruments without readings are left out."""
        now_ns = snapshot.time_unix_nano
        request = ExportMetricsServiceRequest()
        resource_metrics = request.resource_metrics.add()
        resource_metrics.resource.CopyFrom(self._resource)
        scope_metrics = resource_metrics.scope_metrics.add()
        scope_metrics.scope.name = self._scope_name
        previous = self._first_seen_ns
        first_seen: dict[_SeriesKey, int] = {}
        for name, spec in self._specs.items():
            readings = snapshot.readings.get(name)
            if not readings:
                continue
            metric = scope_metrics.metrics.add(
                name=name, description=spec.description, unit=spec.unit
            )
            is_sum = spec.kind is not InstrumentKind.GAUGE
            if is_sum:
                metric.sum.aggregation_temporality = AGGREGATION_TEMPORALITY_CUMULATIVE
                metric.sum.is_monotonic = spec.kind is InstrumentKind.COUNTER
                points = metric.sum.data_points
            else:
                points = metric.gauge.data_points
            for reading in readings:
                point = points.add(time_unix_nano=now_ns)
                if is_sum:
                    key = (name, frozenset(reading.attributes.items()))
                    first_seen[key] = point.start_time_unix_nano = previous.get(key, now_ns)
                if isinstance(reading.value, int):
                    point.as_int = reading.value
                else:
                    point.as_double = reading.value
                _add_attributes(point.attributes, reading.attributes)
        # Only the series of this snapshot: the vanished ones' start times are dropped.
        self._first_seen_ns = first_seen
        return request


# Room for the field tags and length prefixes around a metric in its resource and scope.
_FRAMING_BYTES = 32


def _points(metric: Metric) -> list[object] | None:
    kind = metric.WhichOneof("data")
    if kind is None:
        return None
    return list(getattr(metric, kind).data_points)


def count_points(request: ExportMetricsServiceRequest) -> int:
    """Data points in a request (histogram points count once)."""
    return sum(
        len(_points(m) or ())
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )


def _split_metric(metric: Metric, budget_bytes: int) -> Iterator[Metric]:
    if metric.ByteSize() <= budget_bytes:
        yield metric
        return
    kind = metric.WhichOneof("data")
    points = getattr(metric, kind).data_points if kind is not None else []
    if kind is None or len(points) <= 1:
        # One point bigger than a message cannot be split; the broker will refuse it.
        _log.warning("metric %s has a point over %d bytes; sent whole", metric.name, budget_bytes)
        yield metric
        return
    half = len(points) // 2
    for part in (points[:half], points[half:]):
        piece = Metric()
        piece.CopyFrom(metric)
        target = getattr(piece, kind).data_points
        del target[:]
        target.extend(part)
        yield from _split_metric(piece, budget_bytes)


def split_request(
    request: ExportMetricsServiceRequest, max_bytes: int
) -> list[ExportMetricsServiceRequest]:
    """Split a request into requests of at most ``max_bytes`` serialized bytes each.

    Metrics are split by data points when one alone is too large; resource and scope are repeated
    in every part, so each part is a complete request on its own.
    """
    if request.ByteSize() <= max_bytes:
        return [request]
    parts: list[ExportMetricsServiceRequest] = []
    current = ExportMetricsServiceRequest()
    current_bytes = 0
    # (resource index, scope index) of the last scope written into `current`.
    open_scope: tuple[int, int] | None = None

    def flush() -> None:
        nonlocal current, current_bytes, open_scope
        if current.resource_metrics:
            parts.append(current)
        current = ExportMetricsServiceRequest()
        current_bytes = 0
        open_scope = None

    for ri, rm in enumerate(request.resource_metrics):
        for si, sm in enumerate(rm.scope_metrics):
            overhead = rm.resource.ByteSize() + sm.scope.ByteSize() + 2 * _FRAMING_BYTES
            budget = max(1, max_bytes - overhead)
            for metric in sm.metrics:
                for piece in _split_metric(metric, budget):
                    size = piece.ByteSize() + _FRAMING_BYTES
                    if open_scope == (ri, si):
                        if current_bytes + size > max_bytes:
                            flush()
                    elif current_bytes + size + overhead > max_bytes:
                        flush()
                    if open_scope != (ri, si):
                        new_rm: ResourceMetrics = current.resource_metrics.add()
                        new_rm.resource.CopyFrom(rm.resource)
                        new_rm.schema_url = rm.schema_url
                        new_sm: ScopeMetrics = new_rm.scope_metrics.add()
                        new_sm.scope.CopyFrom(sm.scope)
                        new_sm.schema_url = sm.schema_url
                        current_bytes += overhead
                        open_scope = (ri, si)
                    current.resource_metrics[-1].scope_metrics[-1].metrics.append(piece)
                    current_bytes += size
    flush()
    return parts
