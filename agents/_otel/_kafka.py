"""Kafka delivery: the sender that drains a queue of encoded exports to the topic.

The exporter (:class:`~agents._otel._exporter.KafkaMetricExporter`) never blocks on the broker:
it encodes, splits under the message limit and appends to the :class:`DeliveryQueue`. One sender
thread delivers the oldest messages first; on any failure it marks the broker unreachable (the
queue then spills to disk) and retries after a jittered, capped backoff with a fresh producer,
created only once a bootstrap server accepts a TCP connection again (so an outage costs no
client churn). Against Tansu kafka-python's idempotent producer is permanently broken after a
broker restart, so there idempotence is off and one request is in flight (order is kept; a retry
after a lost acknowledgement may duplicate, which the pipeline absorbs). A ``production``
profile on Apache Kafka sets ``acks: all`` and ``enable_idempotence: true``
(docs/reliability.md)::

    fifo = DeliveryQueue(spool_dir, max_memory_messages=64, max_spool_bytes=256 << 20)
    sender = KafkaSender(fifo, kafka_settings)
    sender.start()
    sender.export([(b"edge-01", payload, 250)])   # key, value, points; or fifo.put(...)
    sender.shutdown(5_000)     # final flush; whatever is left stays in the spool

It has the shape every shipper has (:class:`continuum._sink.Sink`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from agents._otel._footprint import preload_crc32c
from agents._otel._settings import KafkaSettings
from agents._otel._spool import DeliveryQueue, Message
from continuum._backoff import Backoff
from continuum._sink import ExportResult, Sink

__all__ = [
    "OTLP_CONTENT_TYPE",
    "KafkaSender",
    "ProducerLike",
    "acknowledged_prefix",
    "default_producer_factory",
]

_log = logging.getLogger(__name__)


def acknowledged_prefix(
    futures: Sequence[Any], report: Callable[[BaseException | None], None]
) -> int:
    """How many of a flushed batch's sends the broker acknowledged, in order: delivery stops at
    the first that failed or got no answer (reported), so what follows is sent again."""
    delivered = 0
    for future in futures:
        if not future.succeeded():
            report(future.exception if future.failed() else TimeoutError("no ack"))
            break
        delivered += 1
    return delivered


OTLP_CONTENT_TYPE = b"application/x-protobuf"
_BATCH_MESSAGES = 32
_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 5.0
# Retries inside an idempotent producer (bounded by delivery_timeout_ms): the broker drops the
# duplicates they would otherwise make.
_IDEMPOTENT_RETRIES = 5


class ProducerLike(Protocol):
    """The part of ``kafka.KafkaProducer`` the sender uses (tests pass fakes)."""

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Any:
        """Queue one record; return a future with ``succeeded()``/``failed()``/``exception``."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Send everything queued; raise on timeout."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Release the producer."""
        ...


def default_producer_factory(
    settings: KafkaSettings, max_message_bytes: int
) -> Callable[[], ProducerLike]:
    """A factory of kafka-python producers configured for ordered, restart-proof delivery."""

    def create() -> ProducerLike:
        preload_crc32c()
        with warnings.catch_warnings():
            # kafka-python 3.0.12 loads its protocol schemas with the deprecated
            # importlib.resources.read_text; that is its business, not a fault of ours.
            warnings.simplefilter("ignore", DeprecationWarning)
            from kafka import KafkaProducer

        # Idempotence (production, Apache Kafka) needs acks=all and retries within the
        # producer; without it the sender's own retry from the queue is the only one.
        idempotent = settings.enable_idempotence
        producer: ProducerLike = KafkaProducer(
            **settings.client_options(),
            acks=settings.acks,
            enable_idempotence=idempotent,
            retries=_IDEMPOTENT_RETRIES if idempotent else 0,
            max_in_flight_requests_per_connection=1,
            compression_type=settings.compression_type,
            max_request_size=max_message_bytes + 65_536,
            max_block_ms=settings.producer_timeout_ms,
            bootstrap_timeout_ms=settings.producer_timeout_ms,
            delivery_timeout_ms=settings.producer_timeout_ms * 2,
            linger_ms=5,
        )
        return producer

    return create


class KafkaSender:
    """Delivers a :class:`DeliveryQueue` to a Kafka topic on a background thread.

    Args:
        queue: the FIFO to drain.
        settings: the ``kafka`` section.
        producer_factory: creates a producer; default a kafka-python one from ``settings``.
        max_message_bytes: the largest message the exporter produces.
    """

    def __init__(
        self,
        queue: DeliveryQueue,
        settings: KafkaSettings,
        *,
        producer_factory: Callable[[], ProducerLike] | None = None,
        max_message_bytes: int = 1_000_000,
    ) -> None:
        self._queue = queue
        self._topic = settings.topic
        self._bootstrap: list[str] = settings.client_options()["bootstrap_servers"]
        self._flush_timeout_s = settings.producer_timeout_ms / 1000 * 2
        self._factory = producer_factory or default_producer_factory(settings, max_message_bytes)
        self._producer: ProducerLike | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self.errors = 0
        self.delivered_messages = 0
        self.delivered_points = 0
        self._failing = False

    def start(self) -> None:
        """Start the sender thread."""
        self._thread = threading.Thread(target=self._loop, name="kafka-sender", daemon=True)
        self._thread.start()

    def export(self, batch: Sequence[tuple[bytes, bytes, int]]) -> ExportResult:
        """Queue encoded messages ``(key, value, points)`` for delivery, oldest first."""
        if self._stop.is_set():
            return ExportResult.FAILURE
        for key, value, points in batch:
            self._queue.put(key, value, points)
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until the queue is empty; return whether it became empty in time."""
        deadline = time.monotonic() + timeout_millis / 1000
        while time.monotonic() < deadline:
            if self._queue.depth == 0:
                return True
            time.sleep(0.05)
        return self._queue.depth == 0

    def shutdown(self, timeout_millis: float = 5_000) -> None:
        """Try to deliver what is queued within the time, then stop; the rest is spooled."""
        if self._thread is None:
            return
        timeout_s = timeout_millis / 1000
        if not self._failing:
            self.force_flush(timeout_millis)
        self._stop.set()
        self._queue.wake()
        self._thread.join(timeout_s + self._flush_timeout_s)
        self._thread = None
        self._close_producer()
        self._queue.spill()

    def _loop(self) -> None:
        backoff = Backoff(_BACKOFF_START_S, _BACKOFF_MAX_S)
        while not self._stop.is_set():
            if not self._queue.wait(timeout_s=2.0):  # stop() wakes it at once
                continue
            batch = self._queue.peek(_BATCH_MESSAGES)
            if not batch:
                continue
            delivered = self._deliver(batch)
            if delivered:
                self._queue.ack(batch[delivered - 1].seq)
                self.delivered_messages += delivered
                self.delivered_points += sum(m.points for m in batch[:delivered])
            if delivered == len(batch):
                backoff.reset()
                if self._failing:
                    self._failing = False
                    _log.info("Kafka is reachable again; delivering the backlog in order")
                self._queue.set_reachable(True)
                continue
            self._queue.set_reachable(False)
            # Start over with a fresh producer: one in a fatal state never recovers, and one that
            # outlived a broker restart may write by stale metadata (a broker that lost its topics
            # acknowledges records it never stores; seen with Tansu's memory storage).
            self._close_producer()
            backoff.wait(self._stop)

    def _deliver(self, batch: list[Message]) -> int:
        """Send a batch; return how many of its first messages were acknowledged."""
        try:
            if self._producer is None:
                if self._failing and not self._probe():
                    self._report(ConnectionError("no bootstrap server accepts connections"))
                    return 0
                self._producer = self._factory()
            producer = self._producer
            futures = [
                producer.send(
                    self._topic,
                    value=m.value,
                    key=m.key,
                    headers=[("content-type", OTLP_CONTENT_TYPE)],
                )
                for m in batch
            ]
            producer.flush(timeout=self._flush_timeout_s)
        except Exception as err:  # any client error means: retry later
            self._report(err)
            return 0
        return acknowledged_prefix(futures, self._report)

    def _probe(self) -> bool:
        """Whether any bootstrap server accepts a TCP connection (cheap, leaves nothing open)."""
        for server in self._bootstrap:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def _report(self, err: BaseException | None) -> None:
        self.errors += 1
        if not self._failing:
            self._failing = True
            _log.warning("Kafka export failed (%r); spooling and retrying", err)
        else:
            _log.debug("Kafka export still failing: %r", err)

    def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                producer.close(timeout=1)
            except Exception as err:  # closing a broken producer may fail too
                _log.debug("closing the producer failed: %r", err)


if TYPE_CHECKING:

    def _is_a_sink(sender: KafkaSender) -> Sink[Sequence[tuple[bytes, bytes, int]]]:
        """Checked by mypy: KafkaSender has the shape of every shipper."""
        return sender
