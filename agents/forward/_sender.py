"""The forwarder's delivery queue, memory first with the agents' disk spool behind it, and the
thread that delivers it to Kafka.

Records go through the same :class:`agents._otel.DeliveryQueue` as every agent's exports: held
in memory while the broker takes them, spilled to files in the spool folder once it does not (or
memory is full), oldest first, surviving a restart of the forwarder; past the spool's byte cap
the oldest are dropped and counted. A record's headers (content type, identity, scrape time)
travel with it in its spool file. The sender delivers oldest first with one producer (the
agents' shared kafka-python settings: one request in flight, so order holds and a broker
restart does not break it); on failure it closes the producer and retries with a fresh one after
a jittered, capped backoff. A record scraped longer than ``max_age_s`` ago is counted lost
instead, since Prometheus would refuse samples that far behind::

    queue = RecordQueue(Path("spool/records"), max_memory_records=64, max_spool_bytes=256 << 20)
    sender = RecordSender(queue, topic="otlp_metrics", producer_factory=factory, max_age_s=600)
    sender.start()
    sender.export([record])      # or queue.put(record)
    sender.shutdown(5_000)       # what Kafka has not taken stays in the spool for the next run

The sender has the shape every shipper has (:class:`continuum._sink.Sink`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from agents._otel import DeliveryQueue
from agents._otel._kafka import ProducerLike, acknowledged_prefix
from agents.forward._records import ForwardRecord
from continuum._backoff import Backoff
from continuum._sink import ExportResult, Sink

__all__ = ["RecordQueue", "RecordSender", "bootstrap_reachable"]

_log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 10.0
#: Records sent before one flush: a backlog drains in batches, not one round trip per record.
_BATCH_RECORDS = 16


def bootstrap_reachable(servers: list[str], timeout_s: float = 1.0) -> bool:
    """Whether any ``host:port`` of ``servers`` accepts a TCP connection (closed at once)."""
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


class _Frame(msgspec.Struct, array_like=True):
    """A record as its spool file holds it (the key is the queue's own)."""

    value: bytes
    headers: list[tuple[str, bytes]]
    created_at: float


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Frame)


class RecordQueue:
    """Thread-safe FIFO of records: memory, then the disk spool.

    Args:
        spool_dir: the spool folder (one forwarder per folder); records an earlier run left
            there are delivered first.
        max_memory_records: records kept in memory before new ones go to disk.
        max_spool_bytes: bytes the spool may hold; past it the oldest records are dropped.
    """

    def __init__(
        self, spool_dir: Path, *, max_memory_records: int = 64, max_spool_bytes: int = 256 << 20
    ) -> None:
        self._fifo = DeliveryQueue(
            spool_dir, max_memory_messages=max_memory_records, max_spool_bytes=max_spool_bytes
        )

    def put(self, record: ForwardRecord) -> None:
        """Append a record (to disk when Kafka is away or memory is full)."""
        frame = _Frame(record.value, list(record.headers), record.created_at)
        # One exposition is one "point" of the queue's loss accounting.
        self._fifo.put(record.key, _encoder.encode(frame), points=1)

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until a record is waiting; return whether one is."""
        return self._fifo.wait(timeout_s)

    def wake(self) -> None:
        """Wake a sender blocked in :meth:`wait` (on shutdown)."""
        self._fifo.wake()

    def peek(self, limit: int) -> list[tuple[int, ForwardRecord]]:
        """The oldest ``limit`` records with their sequence numbers, not removed."""
        batch: list[tuple[int, ForwardRecord]] = []
        for message in self._fifo.peek(limit):
            try:
                frame = _decoder.decode(message.value)
            except msgspec.DecodeError as err:
                # A spool file from another program or a torn write: skip it, say so.
                _log.warning("spooled record %d is unreadable (%s); skipped", message.seq, err)
                self._fifo.ack(message.seq)
                continue
            record = ForwardRecord(message.key, frame.value, frame.headers, frame.created_at)
            batch.append((message.seq, record))
        return batch

    def ack(self, up_to_seq: int) -> None:
        """Forget every record up to ``up_to_seq`` (delivered, or counted lost)."""
        self._fifo.ack(up_to_seq)

    def set_reachable(self, reachable: bool) -> None:
        """Tell the queue whether Kafka takes records; unreachable spills memory to disk."""
        self._fifo.set_reachable(reachable)

    def spill(self) -> None:
        """Write the in-memory records to disk (on shutdown: the next run delivers them)."""
        self._fifo.spill()

    @property
    def depth(self) -> int:
        """Records waiting, in memory and on disk."""
        return self._fifo.depth

    @property
    def spool_bytes(self) -> int:
        """Bytes the spool folder holds."""
        return self._fifo.spool_bytes

    @property
    def dropped(self) -> int:
        """Records dropped: the spool over its cap, or a disk that refused a write."""
        return self._fifo.dropped_messages


class RecordSender:
    """Delivers a :class:`RecordQueue` to a topic on a background thread.

    Args:
        queue: the records.
        topic: the Kafka topic.
        producer_factory: creates a producer (the agents' default, or a fake in tests).
        max_age_s: records scraped longer ago than this are counted lost, not sent.
        flush_timeout_s: how long one batch may wait for its acknowledgements.
        reachable: after a failure, a new producer is made only once this says the broker
            accepts connections again (an outage then costs no client churn or leaked sockets).
        clock: wall-clock seconds (the records' scrape times are wall-clock).
    """

    def __init__(
        self,
        queue: RecordQueue,
        *,
        topic: str,
        producer_factory: Callable[[], ProducerLike],
        max_age_s: float,
        flush_timeout_s: float = 10.0,
        reachable: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._topic = topic
        self._factory = producer_factory
        self._reachable = reachable
        self._max_age_s = max_age_s
        self._flush_timeout_s = flush_timeout_s
        self._clock = clock
        self._producer: ProducerLike | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.sent = 0
        self.sent_bytes = 0
        self.retries = 0
        self.lost = 0

    def start(self) -> None:
        """Start the sender thread."""
        self._thread = threading.Thread(target=self._loop, name="forward-sender", daemon=True)
        self._thread.start()

    def export(self, batch: Sequence[ForwardRecord]) -> ExportResult:
        """Queue records for delivery, oldest first."""
        if self._stop.is_set():
            return ExportResult.FAILURE
        for record in batch:
            self._queue.put(record)
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until the queue is empty (or Kafka is failing); whether it emptied in time."""
        deadline = time.monotonic() + timeout_millis / 1000
        while not self._failing and self._queue.depth and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._queue.depth == 0

    def shutdown(self, timeout_millis: float = 5_000) -> None:
        """Deliver what is queued within the time (unless Kafka is failing), stop, and spill
        what is left to the spool for the next run."""
        if self._thread is None:
            return
        timeout_s = timeout_millis / 1000
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
            if not self._queue.wait(timeout_s=0.5):
                continue
            batch = self._fresh(self._queue.peek(_BATCH_RECORDS))
            if not batch:
                continue
            delivered = self._deliver(batch)
            if delivered:
                self._queue.ack(batch[delivered - 1][0])
                self.sent += delivered
                self.sent_bytes += sum(len(record.value) for _, record in batch[:delivered])
            if delivered == len(batch):
                backoff.reset()
                if self._failing:
                    self._failing = False
                    _log.info("Kafka is reachable again; forwarding the backlog in order")
                self._queue.set_reachable(True)
                continue
            self.retries += 1
            self._queue.set_reachable(False)
            self._close_producer()
            backoff.wait(self._stop)

    def _fresh(self, batch: list[tuple[int, ForwardRecord]]) -> list[tuple[int, ForwardRecord]]:
        """The batch without the records too old to send; those are forgotten and counted."""
        now = self._clock()
        fresh: list[tuple[int, ForwardRecord]] = []
        for seq, record in batch:
            if now - record.created_at > self._max_age_s and not fresh:
                self._queue.ack(seq)
                self.lost += 1
                continue
            fresh.append((seq, record))
        return fresh

    def _deliver(self, batch: list[tuple[int, ForwardRecord]]) -> int:
        """Send a batch; return how many of its first records were acknowledged."""
        try:
            if self._producer is None:
                if self._failing and not self._reachable():
                    raise ConnectionError("no bootstrap server accepts connections")
                self._producer = self._factory()
            producer = self._producer
            futures: list[Any] = [
                producer.send(
                    self._topic, value=record.value, key=record.key, headers=record.headers
                )
                for _, record in batch
            ]
            producer.flush(timeout=self._flush_timeout_s)
        except Exception as err:  # any client error means: retry later
            self._report(err)
            return 0
        return acknowledged_prefix(futures, self._report)

    def _report(self, err: BaseException | None) -> None:
        if not self._failing:
            self._failing = True
            _log.warning("forwarding to Kafka failed (%r); spooling records and retrying", err)
        else:
            _log.debug("forwarding to Kafka still failing: %r", err)

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=1)
        except Exception as err:  # a broken producer may fail to close as well
            _log.debug("producer close failed: %r", err)


if TYPE_CHECKING:

    def _is_a_sink(sender: RecordSender) -> Sink[Sequence[ForwardRecord]]:
        """Checked by mypy: RecordSender has the shape of every shipper."""
        return sender
