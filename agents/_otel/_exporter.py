"""The Kafka sink as an OpenTelemetry SDK ``MetricExporter``: OTLP on Kafka, spool and retry.

Every metric the project pushes goes through this one exporter: the agents' and any
application's instrumented with the SDK. ``export`` encodes with the SDK's own OTLP encoder
(``opentelemetry-exporter-otlp-proto-common``), splits under the message limit and appends to a
:class:`DeliveryQueue` (memory, spilling to an on-disk spool); it never waits on the broker. The
:class:`KafkaSender` thread drains the queue oldest first with jittered, capped retries, so
delivery is at least once and in order, across broker outages and restarts of the process::

    exporter = KafkaMetricExporter(kafka_settings, key="edge-01", spool_dir=Path("spool"))
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=10_000)
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    ...
    provider.shutdown()      # last export, then up to the timeout to deliver; the rest stays
                             # in the spool and goes first when the process starts again
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from agents._otel._kafka import KafkaSender, ProducerLike
from agents._otel._settings import KafkaSettings
from agents._otel._split import count_points, split_request
from agents._otel._spool import DeliveryQueue

__all__ = ["KafkaMetricExporter"]

_log = logging.getLogger(__name__)


class KafkaMetricExporter(MetricExporter):
    """Exports SDK metrics as OTLP protobuf records on Kafka, keyed by node id.

    Temporality and aggregation are the SDK's defaults (cumulative), which the pipeline reads.

    Args:
        kafka: the ``kafka`` section (brokers, topic, TLS, SASL).
        key: the record key, the node id (docs/contracts.md §3.3).
        spool_dir: where exports wait while the broker is unreachable; what an earlier run left
            there is delivered first. One process per folder.
        max_memory_messages: messages held in memory before new ones go to the spool.
        max_spool_bytes: the spool's cap; past it the oldest are dropped, and counted.
        max_message_bytes: larger exports are split into several records.
        producer_factory: creates Kafka producers (default kafka-python from ``kafka``).
        start: start delivering now; ``False`` leaves it to :meth:`start`.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        key: str,
        spool_dir: Path,
        max_memory_messages: int = 64,
        max_spool_bytes: int = 256 << 20,
        max_message_bytes: int = 900_000,
        producer_factory: Callable[[], ProducerLike] | None = None,
        start: bool = True,
    ) -> None:
        super().__init__()
        self.queue = DeliveryQueue(
            spool_dir, max_memory_messages=max_memory_messages, max_spool_bytes=max_spool_bytes
        )
        self.sender = KafkaSender(
            self.queue,
            kafka,
            producer_factory=producer_factory,
            max_message_bytes=max_message_bytes,
        )
        self._key = key.encode()
        self._max_message_bytes = max_message_bytes
        self._lock = threading.Lock()
        self._started = False
        self._shut = False
        #: Data points queued for Kafka (delivered or still waiting).
        self.exported_points = 0
        #: Exports that could not be encoded or queued.
        self.errors = 0
        if start:
            self.start()

    def start(self) -> None:
        """Start the sender thread (idempotent; not after :meth:`shutdown`)."""
        with self._lock:
            if self._started or self._shut:
                return
            self._started = True
        self.sender.start()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Encode and queue one collection; never waits on the broker.

        Returns:
            SUCCESS once queued (the spool and the sender take it from there), FAILURE when it
            could not be encoded or the exporter is shut down.
        """
        if self._shut:
            return MetricExportResult.FAILURE
        try:
            request = encode_metrics(metrics_data)
            for part in split_request(request, self._max_message_bytes):
                points = count_points(part)
                self.queue.put(self._key, part.SerializeToString(), points)
                self.exported_points += points
        except Exception as err:  # an export error never stops the process it runs in
            self.errors += 1
            _log.warning("OTLP export failed: %r", err)
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until Kafka has acknowledged everything queued; whether it did in time."""
        if not self._started:
            return self.queue.depth == 0
        return self.sender.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Deliver what is queued within the timeout, then stop; the rest stays spooled.

        ``PeriodicExportingMetricReader`` passes its remaining time as ``timeout`` (ms).
        """
        with self._lock:
            if self._shut:
                return
            self._shut = True
        timeout_ms = float(kwargs.get("timeout", timeout_millis))
        self.sender.shutdown(max(0.0, timeout_ms))
        if not self._started:
            self.queue.spill()
