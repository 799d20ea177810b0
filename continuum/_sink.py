"""The one shape of everything that ships data: ``export``, ``force_flush``, ``shutdown``.

It is the OpenTelemetry SDK's exporter shape, which the agents' OTLP export already has
(:class:`agents._otel.KafkaMetricExporter` is an SDK ``MetricExporter``). The other shippers
take it too: the agents' and the forwarder's Kafka senders, and the pipeline's remote writer.
So each is started, fed, flushed and stopped the same way::

    result = sink.export(batch)          # queued (SUCCESS) or refused (FAILURE), never blocks
    sink.force_flush(10_000)             # True once everything exported is delivered
    sink.shutdown(5_000)                 # deliver within the time, then stop; the rest is kept
"""

from __future__ import annotations

import enum
from typing import Protocol, TypeVar

__all__ = ["ExportResult", "Sink"]

_Batch_contra = TypeVar("_Batch_contra", contravariant=True)


class ExportResult(enum.Enum):
    """What :meth:`Sink.export` did with a batch (the SDK's ``MetricExportResult`` values)."""

    SUCCESS = 0
    """Accepted: queued for delivery (a spool or a retry loop takes it from there)."""
    FAILURE = 1
    """Refused: the sink is shut down, or the batch could not be taken."""


class Sink(Protocol[_Batch_contra]):
    """Ships batches somewhere, in the background."""

    def export(self, batch: _Batch_contra) -> ExportResult:
        """Take one batch for delivery; never waits on the destination."""
        ...

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until everything taken is delivered; whether it was within the time."""
        ...

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Deliver what is queued within the time, then stop (idempotent)."""
        ...
