"""The pipeline worker: consume, decode, clean, aggregate, batch, write, commit.

One thread owns the Kafka consumer (kafka-python consumers are not thread-safe); sender threads
own the HTTP connections. Offsets move forward only over records whose every sample Prometheus
acknowledged (or which were dead-lettered), in record order (:class:`OffsetLedger`):
at-least-once. The Kafka clients come from factories, so commit and rebalance handling run
against any consumer with kafka-python's interface::

    worker = Worker(load_settings(path))
    worker.run(stop_event)      # blocks until stop_event is set, then flushes and commits
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from continuum._backoff import Backoff
from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules, DropReason
from pipeline._deadletter import DeadLetter
from pipeline._errors import RecordError
from pipeline._kafka import (
    ConsumerRebalanceListener,
    KafkaConsumer,
    KafkaError,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)
from pipeline._ledger import OffsetLedger
from pipeline._otlp import OtlpDecoder
from pipeline._samples import NodeSamples, SampleBuilder
from pipeline._selfmetrics import CountsCollector, SelfMetrics
from pipeline._settings import WorkerSettings, kafka_client_options
from pipeline._template import TemplateCache
from pipeline._text import TextDecoder, is_text_content_type
from pipeline._writer import Batch, Part, RecordRef, RemoteWriter

__all__ = ["ConsumerFactory", "ProducerFactory", "Worker"]

_log = logging.getLogger(__name__)

_OTLP_CONTENT_TYPES = ("application/x-protobuf", "application/protobuf")
_EXPIRY_INTERVAL_S = 60.0
# How long a shutdown waits on a store that fails every request before it gives up the wait.
_STALL_S = 3.0
_POLL_MAX_MS = 100
# Every sample is a tuple holding a series object, so at the default threshold (700 container
# allocations) the collector's young generation runs every few records and promotes pending
# samples into the older generations, whose full collections walk every series the worker
# holds: more than half the decode time at full load (docs/benchmarks.md). The hot path makes
# no reference cycles; the collector still runs, about 140 times less often.
_GC_YOUNG_THRESHOLD = 100_000
#: How often the consumer refreshes topic metadata (new topics and partitions are seen then).
_METADATA_MAX_AGE_MS = 10_000
#: Label values of the cleaning counters, exposed at 0 before their first count.
_DROP_REASONS = tuple(v for k, v in vars(DropReason).items() if k.isupper())
_ADJUST_REASONS = ("counter_reset",)


class ConsumerFactory(Protocol):
    """Makes the worker's consumer from kafka-python's consumer options."""

    def __call__(self, **options: Any) -> KafkaConsumer: ...


class ProducerFactory(Protocol):
    """Makes the worker's dead-letter producer from kafka-python's producer options."""

    def __call__(self, **options: Any) -> KafkaProducer: ...


def _header_map(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    # Header names compare case-insensitively (``Content-Type`` from HTTP-minded producers).
    out: dict[str, str] = {}
    for key, value in headers or ():
        out[key.lower()] = value.decode("utf-8", "replace") if value is not None else ""
    return out


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker):
        self._worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._worker.on_revoked(set(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._worker.on_assigned(set(assigned))


class Worker:
    """One pipeline worker of a consumer group.

    Args:
        settings: Kafka and pipeline settings.
        metrics: where self-metrics go (a fresh :class:`SelfMetrics` by default).
        clock: wall clock in seconds (tests inject one).
        consumer_factory: makes the consumer (kafka-python's ``KafkaConsumer`` by default).
        producer_factory: makes the dead-letter producer (``KafkaProducer`` by default).
    """

    def __init__(
        self,
        settings: WorkerSettings,
        metrics: SelfMetrics | None = None,
        clock: Callable[[], float] = time.time,
        consumer_factory: ConsumerFactory = KafkaConsumer,
        producer_factory: ProducerFactory = KafkaProducer,
    ):
        self.settings = settings
        p = settings.pipeline
        self.metrics = metrics or SelfMetrics()
        self.cleaner = Cleaner(
            CleaningRules(
                max_future_skew_s=p.max_future_skew_s,
                out_of_order_window_s=p.out_of_order_window_s,
                max_series_per_node=p.max_series_per_node,
                series_idle_expiry_s=p.series_idle_expiry_s,
                allow=tuple(p.allow),
                deny=tuple(p.deny),
            ),
            clock=clock,
        )
        self.aggregator = Aggregator() if p.aggregates else None
        self._builder = SampleBuilder(self.cleaner, self.aggregator)
        self._otlp = OtlpDecoder(
            self._builder, TemplateCache(max_memory_bytes=p.template_memory_bytes)
        )
        self._text = TextDecoder(self._builder)
        self._shards = p.max_concurrent_requests
        self._batch_max_samples = p.batch_max_samples
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._lock = threading.Lock()
        self._pending_samples = 0
        self.ledger = OffsetLedger()
        # Set once shutdown begins: a dead letter still unsent then waits for the next run.
        self._stopping = threading.Event()
        self._parts: list[list[Part]] = [[] for _ in range(self._shards)]
        self._shard_samples = [0] * self._shards
        self._batch_started = 0.0
        # Records polled but not yet processed (at most one poll's worth): processing stops
        # mid-poll when the pending bound is reached and resumes once Prometheus catches up.
        self._backlog: deque[Any] = deque()
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._writer: RemoteWriter | None = None
        self._paused = False
        self._assigned: set[TopicPartition] = set()
        self._warned: set[str] = set()
        self.last_loop_monotonic = time.monotonic()
        self.metrics.registry.register(
            CountsCollector(
                counters={
                    "continuum_pipeline_samples_dropped_total": (
                        "Samples (or series occurrences) dropped by cleaning, by reason.",
                        "reason",
                        self.cleaner.dropped,
                    ),
                    "continuum_pipeline_samples_adjusted_total": (
                        "Samples kept after an adjustment (counter reset, unit, delta), by reason.",
                        "reason",
                        self.cleaner.adjusted,
                    ),
                    "continuum_pipeline_otlp_records_decoded_total": (
                        "OTLP records decoded, by path: template (a steady node's record, one "
                        "struct unpack) or full (protobuf).",
                        "path",
                        self._otlp.decoded,
                    ),
                },
                known={
                    "continuum_pipeline_samples_dropped_total": _DROP_REASONS,
                    "continuum_pipeline_samples_adjusted_total": _ADJUST_REASONS,
                },
                gauges={
                    "continuum_pipeline_series_tracked": (
                        "Series the cleaner tracks (for resets, duplicates and the series limit).",
                        lambda: float(self.cleaner.tracked_series),
                    ),
                    "continuum_pipeline_nodes_tracked": (
                        "Nodes with tracked series.",
                        lambda: float(self.cleaner.tracked_nodes),
                    ),
                    "continuum_pipeline_assigned_partitions": (
                        "Kafka partitions this worker holds in its consumer group.",
                        lambda: float(len(self._assigned)),
                    ),
                },
            )
        )

    # -- life cycle -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then flush, wait for acknowledgements and commit.

        An unreachable broker at start is retried (with backoff, logged once), not fatal.
        """
        if not self._connect(stop):
            return
        p = self.settings.pipeline
        self._writer = RemoteWriter(
            p.remote_write_url,
            shards=self._shards,
            on_done=self._batch_done,
            on_reject=self._rejected,
            metrics=self.metrics,
            timeout_s=p.request_timeout_s,
            initial_backoff_s=p.retry_initial_backoff_s,
            max_backoff_s=p.retry_max_backoff_s,
            auth=p.remote_write_auth,
        )
        self._writer.start()
        assert self._consumer is not None
        self._consumer.subscribe([self.settings.kafka.topic], listener=_Listener(self))
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], _GC_YOUNG_THRESHOLD), *thresholds[1:])
        try:
            self._loop(stop)
        finally:
            gc.set_threshold(*thresholds)
            self._shutdown()

    def _connect(self, stop: threading.Event) -> bool:
        """Create the Kafka clients, retrying until they connect; False if stopped first."""
        k, p = self.settings.kafka, self.settings.pipeline
        options = kafka_client_options(k)
        backoff = Backoff(p.retry_initial_backoff_s, p.retry_max_backoff_s)
        while not stop.is_set():
            self.last_loop_monotonic = time.monotonic()
            try:
                if self._producer is None:
                    self._producer = self._producer_factory(
                        **options,
                        acks=k.acks,
                        enable_idempotence=k.enable_idempotence,
                        linger_ms=5,
                        retries=5,
                        # send() may block this long for metadata; the loop must keep polling.
                        max_block_ms=5000,
                    )
                self._consumer = self._consumer_factory(
                    **options,
                    group_id=p.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    session_timeout_ms=p.session_timeout_ms,
                    heartbeat_interval_ms=p.heartbeat_interval_ms,
                    max_poll_records=p.max_poll_records,
                    max_poll_interval_ms=p.max_poll_interval_ms,
                    fetch_max_bytes=16 * 1024 * 1024,
                    # kafka-python checks CRC32C in pure Python: more CPU than all our decoding.
                    # The broker validated each batch on produce and TCP checksums the transfer.
                    check_crcs=False,
                    max_partition_fetch_bytes=4 * 1024 * 1024,
                    # A topic created after the worker subscribed (the first agent's first
                    # export, or partitions added to scale out) is only seen at the next
                    # metadata refresh: 10 s rather than kafka-python's 5 minutes.
                    metadata_max_age_ms=_METADATA_MAX_AGE_MS,
                )
                return True
            except KafkaError as err:
                self._warn_once(
                    "connect",
                    "Kafka unreachable; retrying",
                    bootstrap_servers=k.bootstrap_servers,
                    error=str(err),
                )
                backoff.wait(stop)
        if self._producer is not None:
            self._producer.close(timeout=1)
        return False

    def _loop(self, stop: threading.Event) -> None:
        consumer = self._consumer
        assert consumer is not None
        p = self.settings.pipeline
        next_expiry = time.monotonic() + _EXPIRY_INTERVAL_S
        while not stop.is_set():
            self.last_loop_monotonic = now = time.monotonic()
            self._apply_backpressure(consumer)
            wait_ms = _POLL_MAX_MS
            if self._batch_started:
                left_s = self._batch_started + p.batch_max_delay_s - now
                wait_ms = int(min(max(left_s, 0.0) * 1000, _POLL_MAX_MS))
            # Paused, the poll returns nothing but keeps the membership and runs rebalances.
            if not self._backlog or self._paused:
                try:
                    polled = consumer.poll(timeout_ms=wait_ms)
                except KafkaError as err:
                    self._warn_once("poll", "kafka poll failed; retrying", error=str(err))
                    stop.wait(0.5)
                    continue
                for records in polled.values():
                    self._backlog.extend(records)
            self._process_backlog()
            if self._batch_started and (
                time.monotonic() - self._batch_started >= p.batch_max_delay_s
            ):
                self._flush()
            self._commit_completed()
            if now >= next_expiry:
                next_expiry = now + _EXPIRY_INTERVAL_S
                self._expire()

    def _apply_backpressure(self, consumer: KafkaConsumer) -> None:
        limit = self.settings.pipeline.max_pending_samples
        held = self._pending_samples + sum(self._shard_samples)
        if not self._paused and held >= limit:
            # Stop fetching but keep polling: the group sees us alive and rebalances still run.
            self._paused = True
            self._paused_since = time.monotonic()
            consumer.pause(*consumer.assignment())
        elif self._paused and held < limit // 2:
            self._paused = False
            self.metrics.backpressure.inc(time.monotonic() - self._paused_since)
            consumer.resume(*consumer.paused())

    def _shutdown(self) -> None:
        self._stopping.set()
        timeout_s = self.settings.pipeline.shutdown_timeout_s
        if self._consumer is not None:
            self._flush()
            self._drain(timeout_s)
            self._commit_completed()
        if self._writer is not None:
            self._writer.shutdown(1_000)
        if self._producer is not None:
            self._producer.close(timeout=5)
        if self._consumer is not None:
            self._consumer.close(autocommit=False)

    def _drain(self, timeout_s: float) -> bool:
        """Wait until every ticket is complete (or ``timeout_s``); True when drained.

        Stops early once the store has refused or failed every request for ``_STALL_S``:
        waiting on a store that is down only delays the exit, and loses nothing by ending,
        since the offsets of what it did not acknowledge stay uncommitted and are read again.
        """
        deadline = time.monotonic() + timeout_s
        failing_since: float | None = None
        while time.monotonic() < deadline:
            if self.ledger.drained():
                return True
            failing = self._writer is not None and self._writer.consecutive_failures > 0
            if not failing:
                failing_since = None
            elif failing_since is None:
                failing_since = time.monotonic()
            elif time.monotonic() - failing_since > _STALL_S:
                _log.warning(
                    "shutting down with batches unacknowledged: the store is not answering; "
                    "their records will be read again"
                )
                return False
            time.sleep(0.01)
        return False

    # -- records --------------------------------------------------------------------------

    def _process_backlog(self) -> None:
        """Process polled records until none is left or the pending bound is reached.

        Samples held count whether sent or still batching, so the bound holds to within one
        record. A request goes out as soon as one shard holds ``batch_max_samples``, so requests
        keep the configured size however many records one poll returns.
        """
        backlog = self._backlog
        limit = self.settings.pipeline.max_pending_samples
        while backlog and self._pending_samples + sum(self._shard_samples) < limit:
            self._process(backlog.popleft())
            if max(self._shard_samples) >= self._batch_max_samples:
                self._flush()

    def _process(self, record: Any) -> None:
        headers = _header_map(record.headers)
        content_type = headers.get("content-type", "application/x-protobuf").strip().lower()
        key = record.key.decode("utf-8", "replace") if record.key else None
        self.metrics.records.labels(content_type.split(";")[0].strip()).inc()
        ref = RecordRef(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value or b"",
            list(record.headers or []),
        )
        try:
            if content_type.startswith(_OTLP_CONTENT_TYPES):
                groups = self._otlp.decode(ref.value, key)
            elif is_text_content_type(content_type):
                groups = self._text.decode(ref.value, content_type, headers, key)
            else:
                raise RecordError("content_type", f"unsupported content-type {content_type!r}")
        except RecordError as err:
            self._dead_letter_async(ref, err.reason, err.detail)
            groups = []
        except Exception as err:  # a malformed record must never stop the worker
            self._warn_once("decode", "record failed to decode", error=repr(err))
            self._dead_letter_async(ref, "internal", repr(err))
            groups = []
        self.ledger.record(TopicPartition(record.topic, record.partition), record.offset)
        self._add_groups(groups, ref)

    def _add_groups(self, groups: list[NodeSamples], ref: RecordRef) -> None:
        if not self._batch_started:
            self._batch_started = time.monotonic()
        for group in groups:
            shard = zlib.crc32(group.node.encode()) % self._shards
            parts = self._parts[shard]
            if group.samples:
                parts.append(Part(group.samples, ref, group.newest_ts_ms))
            if group.aggregates:
                parts.append(Part(group.aggregates, None, group.newest_ts_ms))
            self._shard_samples[shard] += len(group.samples) + len(group.aggregates)

    def _flush(self) -> None:
        """Hand the accumulated parts to the writer as one batch per shard."""
        shards = [(shard, parts) for shard, parts in enumerate(self._parts) if parts]
        ticket = self.ledger.seal(len(shards))
        if ticket is None:
            self._batch_started = 0.0
            return
        batches = [
            Batch(shard, parts, ticket, self._shard_samples[shard]) for shard, parts in shards
        ]
        total = sum(b.samples for b in batches)
        with self._lock:
            self._pending_samples += total
        self.metrics.pending_samples.set(self._pending_samples)
        self._parts = [[] for _ in range(self._shards)]
        self._shard_samples = [0] * self._shards
        self._batch_started = 0.0
        assert self._writer is not None
        for batch in batches:
            self._writer.export(batch)

    def _batch_done(self, batch: Batch) -> None:
        self.ledger.done(batch.ticket)
        with self._lock:
            self._pending_samples -= batch.samples
        self.metrics.pending_samples.set(self._pending_samples)

    def _commit_completed(self) -> None:
        offsets: dict[TopicPartition, int] = self.ledger.committable()
        if not offsets or self._consumer is None:
            return
        try:
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except KafkaError as err:
            # The records will be read again (here or by another worker): at-least-once.
            self.metrics.commit_failures.inc()
            self._warn_once("commit", "offset commit failed", error=str(err))
        else:
            self.metrics.commits.inc()

    # -- rebalancing ----------------------------------------------------------------------

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before partitions move away: send what we have, wait for it, commit it."""
        self._assigned -= revoked
        if not revoked:
            return
        # Unprocessed records of those partitions are the new owner's: it reads them again
        # from the committed offset.
        self._backlog = deque(
            r for r in self._backlog if TopicPartition(r.topic, r.partition) not in revoked
        )
        self._flush()
        # Bounded by half the poll interval: past it the group would evict this member.
        p = self.settings.pipeline
        self._drain(min(p.shutdown_timeout_s, p.max_poll_interval_ms / 2000))
        self._commit_completed()
        # Unacknowledged data of revoked partitions will be read again by the new owner.
        self.ledger.revoke(revoked)

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """After an assignment: keep the paused state consistent with backpressure."""
        self._assigned |= assigned
        if self._paused and self._consumer is not None and assigned:
            self._consumer.pause(*assigned)

    # -- dead letters ---------------------------------------------------------------------

    def _dead_letter_async(self, ref: RecordRef, reason: str, detail: str) -> None:
        assert self._producer is not None
        self.metrics.dead_letters.labels(reason).inc()
        self._warn_once(f"dlq:{reason}", "record dead-lettered", reason=reason, detail=detail[:200])
        letter = DeadLetter(self._producer, self.settings.kafka.dlq_topic, ref, reason, detail)
        self.ledger.dead_letter(letter)

    def _rejected(self, batch: Batch, part: Part, status: int, body: str) -> None:
        """A part Prometheus refused for good: dead-letter its record (aggregates are dropped).

        Runs on a sender thread. The letter is sent here and the batch's ticket then waits for
        its delivery (``Ticket.complete`` drives resends), so the record's offset is committed
        only once the letter is delivered, and no thread spins on an unreachable broker.
        """
        if part.record is None:
            self.cleaner.drop(DropReason.AGGREGATE_REJECTED, len(part.samples))
            return
        reason = "remote_write_rejected"
        self.metrics.dead_letters.labels(reason).inc()
        self._warn_once(
            "rejected", "Prometheus rejected a record", status=status, answer=body[:200]
        )
        assert self._producer is not None
        letter = DeadLetter(
            self._producer,
            self.settings.kafka.dlq_topic,
            part.record,
            reason,
            f"HTTP {status}: {body}",
        )
        # Without the dead letter the record would be lost once committed: its ticket holds.
        self.ledger.dead_letter(letter, batch.ticket)

    # -- housekeeping ---------------------------------------------------------------------

    def _expire(self) -> None:
        now_ms = self.cleaner.now_ms()
        if self.cleaner.expire(now_ms):
            self._builder.clear_cache()
        if self.aggregator is not None:
            horizon_ms = now_ms - int(self.settings.pipeline.series_idle_expiry_s * 1000)
            self.aggregator.expire(horizon_ms)

    def _warn_once(self, key: str, message: str, **context: Any) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        _log.warning(message, extra=context)

    def consumer_assigned(self) -> bool:
        """The worker holds at least one partition (it has joined its group)."""
        consumer = self._consumer
        return consumer is not None and bool(consumer.assignment())

    def healthy(self) -> bool:
        """The consumer loop ran in the last 30 s."""
        return time.monotonic() - self.last_loop_monotonic < 30.0

    def counts(self) -> Mapping[str, Mapping[str, int]]:
        """Dropped and adjusted counts by reason (for tests and the bench)."""
        return {"dropped": dict(self.cleaner.dropped), "adjusted": dict(self.cleaner.adjusted)}
