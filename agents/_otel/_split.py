"""Split an OTLP request into messages that fit under Kafka's message limit.

The SDK's encoder (``opentelemetry-exporter-otlp-proto-common``) makes one
``ExportMetricsServiceRequest`` per export; a record must stay under 1 MB (docs/contracts.md
§3.3), so a larger request is cut by metrics and data points, each part a complete request::

    request = encode_metrics(metrics_data)
    payloads = [r.SerializeToString() for r in split_request(request, max_bytes=900_000)]
    count_points(request)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, ResourceMetrics, ScopeMetrics

__all__ = ["count_points", "split_request"]

_log = logging.getLogger(__name__)


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
