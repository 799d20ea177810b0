"""The worker's commits and rebalances with an injected consumer, against a real HTTP endpoint.

Kafka is replaced by a scripted consumer (pure logic: which records it hands out, which
offsets are committed); remote write goes to a real local HTTP server, so acknowledgements
are real answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline import Worker
from pipeline._kafka import TopicPartition
from pipeline._settings import KafkaSettings, PipelineSettings, WorkerSettings
from tests.unit.pipeline.conftest import Endpoint
from tests.unit.pipeline.otlp_factory import Payload

TP0, TP1 = TopicPartition("metrics", 0), TopicPartition("metrics", 1)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _record(tp: TopicPartition, offset: int, node: str) -> Record:
    # Stamped now: the cleaner drops samples older than its window, and a suite runs for minutes.
    now_ms = int(time.time() * 1000)
    payload = Payload().resource(node).gauge("system.cpu.utilization", [(now_ms + offset, 0.5, {})])
    return Record(tp.topic, tp.partition, offset, bytes(payload), node.encode())


class ScriptedConsumer:
    """kafka-python's consumer surface the worker uses, handing out scripted polls."""

    def __init__(self, polls: list[dict[TopicPartition, list[Record]]]) -> None:
        self.polls = polls
        self.commits: list[dict[TopicPartition, int]] = []
        self.listener: Any = None
        self.assigned = {TP0, TP1}
        self.before_poll: list[Callable[[ScriptedConsumer], None]] = []
        self.on_commit: Callable[[], None] = lambda: None
        self._paused: set[TopicPartition] = set()

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener
        listener.on_partitions_assigned(set(self.assigned))

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        # kafka-python runs rebalance callbacks inside poll, on the consumer's thread.
        while self.before_poll:
            self.before_poll.pop(0)(self)
        if self.polls and not self._paused:
            return self.polls.pop(0)
        time.sleep(timeout_ms / 1000 / 10)
        return {}

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.on_commit()
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *tps: TopicPartition) -> None:
        self._paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self._paused -= set(tps)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def close(self, autocommit: bool = False) -> None:
        pass

    def committed(self, tp: TopicPartition) -> int | None:
        offsets = [c[tp] for c in self.commits if tp in c]
        return offsets[-1] if offsets else None


class NullProducer:
    def close(self, timeout: float = 0) -> None:
        pass


def _run(
    consumer: ScriptedConsumer, endpoint: Endpoint
) -> tuple[Worker, threading.Event, threading.Thread]:
    settings = WorkerSettings(
        kafka=KafkaSettings(),
        pipeline=PipelineSettings(
            remote_write_url=endpoint.url,
            batch_max_delay_s=0.01,
            retry_initial_backoff_s=0.01,
            retry_max_backoff_s=0.05,
            max_concurrent_requests=2,
            aggregates=False,
        ),
    )
    worker = Worker(
        settings,
        consumer_factory=lambda **_: consumer,  # type: ignore[arg-type,return-value]
        producer_factory=lambda **_: NullProducer(),  # type: ignore[arg-type,return-value]
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return worker, stop, thread


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_offsets_commit_only_after_prometheus_acknowledged(endpoint: Endpoint) -> None:
    # Prometheus is down for the first three attempts: nothing may be committed meanwhile.
    endpoint.script = [(503, b"down")] * 3
    records = [_record(TP0, 0, "a"), _record(TP0, 1, "a"), _record(TP1, 0, "b")]
    consumer = ScriptedConsumer([{TP0: records[:2], TP1: records[2:]}])
    acknowledged_at_commit: list[int] = []
    consumer.on_commit = lambda: acknowledged_at_commit.append(
        sum(200 <= s < 300 for s in endpoint.statuses)
    )
    worker, stop, thread = _run(consumer, endpoint)
    try:
        _wait(lambda: consumer.committed(TP0) == 2 and consumer.committed(TP1) == 1, "commit")
        assert endpoint.statuses[:3] == [503, 503, 503]
        # Each commit came after a 2xx answer, never during the outage.
        assert acknowledged_at_commit
        assert all(count >= 1 for count in acknowledged_at_commit)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(worker.ledger) == 0


def test_a_revoked_partition_is_flushed_and_committed_before_it_moves(endpoint: Endpoint) -> None:
    consumer = ScriptedConsumer([{TP0: [_record(TP0, 0, "a")], TP1: [_record(TP1, 0, "b")]}])

    def revoke_tp1(c: ScriptedConsumer) -> None:
        c.assigned.discard(TP1)
        c.listener.on_partitions_revoked({TP1})

    _, stop, thread = _run(consumer, endpoint)
    try:
        _wait(lambda: not consumer.polls, "the records to be polled")
        # The revocation arrives in the next poll, before the batch may even have gone out.
        consumer.before_poll.append(revoke_tp1)
        _wait(lambda: consumer.committed(TP1) == 1, "the revoked partition's commit")
        _wait(lambda: consumer.committed(TP0) == 1, "the kept partition's commit")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_shutdown_with_prometheus_down_commits_nothing_unacknowledged(
    endpoint: Endpoint,
) -> None:
    endpoint.script = [(503, b"down")] * 10_000
    consumer = ScriptedConsumer([{TP0: [_record(TP0, 0, "a")]}])
    settings_timeout_s = 0.5
    worker, stop, thread = _run(consumer, endpoint)
    worker.settings.pipeline.shutdown_timeout_s = settings_timeout_s
    _wait(lambda: len(endpoint.statuses) >= 2, "retries against the down endpoint")
    stop.set()
    thread.join(10)
    # The writer's retries honour the shutdown; the record is read again next time.
    assert not thread.is_alive()
    assert consumer.commits == []


def test_shutdown_stops_waiting_on_a_store_that_fails_every_request(endpoint: Endpoint) -> None:
    endpoint.script = [(503, b"down")] * 10_000
    consumer = ScriptedConsumer([{TP0: [_record(TP0, 0, "a")]}])
    worker, stop, thread = _run(consumer, endpoint)
    worker.settings.pipeline.shutdown_timeout_s = 30.0
    _wait(lambda: len(endpoint.statuses) >= 2, "retries against the down endpoint")
    stopped = time.monotonic()
    stop.set()
    thread.join(20)
    # Not the whole 30 s: a store down for a few seconds ends the wait, and nothing is lost,
    # for nothing unacknowledged is committed.
    assert not thread.is_alive()
    assert time.monotonic() - stopped < 10.0
    assert consumer.commits == []


def test_the_dead_letter_producer_is_as_durable_as_the_kafka_section_says() -> None:
    made: list[dict[str, Any]] = []

    def producer(**options: Any) -> NullProducer:
        made.append(options)
        return NullProducer()

    production = KafkaSettings(acks="all", enable_idempotence=True)
    worker = Worker(
        WorkerSettings(kafka=production),
        consumer_factory=lambda **_: ScriptedConsumer([]),  # type: ignore[arg-type,return-value]
        producer_factory=producer,  # type: ignore[arg-type]
    )
    assert worker._connect(threading.Event())
    assert (made[0]["acks"], made[0]["enable_idempotence"]) == ("all", True)
    # The local default stays as Tansu needs it.
    assert (KafkaSettings().acks, KafkaSettings().enable_idempotence) == (1, False)
