"""A bounded queue of forwarded records and the thread that delivers it to Kafka.

The queue holds at most ``max_records``; when Kafka is away and it fills, the oldest record is
dropped (fresh data is worth more to a scheduler) and counted. The sender delivers oldest first
with one producer (the agents' shared kafka-python settings: ``acks=1``, no idempotence, one
request in flight, so order holds and a broker restart does not break it). On failure it closes
the producer and retries with a fresh one after a jittered, capped backoff. A record older than
``max_age_s`` is counted lost instead, since Prometheus would refuse samples that far behind::

    queue = RecordQueue(max_records=64)
    sender = RecordSender(queue, topic="otlp_metrics", producer_factory=factory, max_age_s=600)
    sender.start()
    queue.put(record)
    sender.stop(timeout_s=5)
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

from agents._otel._kafka import ProducerLike
from agents.forward._records import ForwardRecord

__all__ = ["RecordQueue", "RecordSender", "bootstrap_reachable"]

_log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 10.0


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


class RecordQueue:
    """Thread-safe FIFO of records with a size bound (oldest dropped past it).

    Args:
        max_records: records held at most.
    """

    def __init__(self, max_records: int) -> None:
        self._records: deque[ForwardRecord] = deque()
        self._max = max_records
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, record: ForwardRecord) -> None:
        """Append a record, dropping the oldest when full."""
        with self._cond:
            if len(self._records) >= self._max:
                self._records.popleft()
                self.dropped += 1
            self._records.append(record)
            self._cond.notify()

    def peek(self, timeout_s: float) -> ForwardRecord | None:
        """The oldest record, waiting up to ``timeout_s`` for one."""
        with self._cond:
            if not self._records:
                self._cond.wait(timeout_s)
            return self._records[0] if self._records else None

    def remove(self, record: ForwardRecord) -> None:
        """Forget ``record`` if it is still the oldest (it may have been dropped meanwhile)."""
        with self._cond:
            if self._records and self._records[0] is record:
                self._records.popleft()

    @property
    def depth(self) -> int:
        """Records waiting."""
        with self._cond:
            return len(self._records)


class RecordSender:
    """Delivers a :class:`RecordQueue` to a topic on a background thread.

    Args:
        queue: the records.
        topic: the Kafka topic.
        producer_factory: creates a producer (the agents' default, or a fake in tests).
        max_age_s: records older than this are counted lost, not sent.
        flush_timeout_s: how long one send may wait for its acknowledgement.
        reachable: after a failure, a new producer is made only once this says the broker
            accepts connections again (an outage then costs no client churn or leaked sockets).
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
    ) -> None:
        self._queue = queue
        self._topic = topic
        self._factory = producer_factory
        self._reachable = reachable
        self._max_age_s = max_age_s
        self._flush_timeout_s = flush_timeout_s
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

    def stop(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued within ``timeout_s`` (unless Kafka is failing), then stop."""
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout_s
        while not self._failing and self._queue.depth and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout_s + self._flush_timeout_s)
        self._thread = None
        self._close_producer()

    def _loop(self) -> None:
        backoff_s = _BACKOFF_START_S
        while not self._stop.is_set():
            record = self._queue.peek(timeout_s=0.5)
            if record is None:
                continue
            if time.monotonic() - record.queued_at > self._max_age_s:
                self._queue.remove(record)
                self.lost += 1
                continue
            if self._send(record):
                self._queue.remove(record)
                self.sent += 1
                self.sent_bytes += len(record.value)
                backoff_s = _BACKOFF_START_S
                if self._failing:
                    self._failing = False
                    _log.info("Kafka is reachable again; forwarding the backlog in order")
                continue
            self.retries += 1
            self._close_producer()
            # Full jitter keeps a fleet of forwarders from reconnecting in lockstep.
            self._stop.wait(random.uniform(0.5, 1.0) * backoff_s)
            backoff_s = min(backoff_s * 2, _BACKOFF_MAX_S)

    def _send(self, record: ForwardRecord) -> bool:
        try:
            if self._producer is None:
                if self._failing and not self._reachable():
                    raise ConnectionError("no bootstrap server accepts connections")
                self._producer = self._factory()
            future = self._producer.send(
                self._topic, value=record.value, key=record.key, headers=record.headers
            )
            self._producer.flush(timeout=self._flush_timeout_s)
        except Exception as err:  # any client error means: retry later
            self._report(err)
            return False
        if not future.succeeded():
            self._report(future.exception if future.failed() else TimeoutError("no ack"))
            return False
        return True

    def _report(self, err: BaseException | None) -> None:
        if not self._failing:
            self._failing = True
            _log.warning("forwarding to Kafka failed (%r); holding records and retrying", err)
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
