"""The production producer settings (acks=all, idempotent) deliver through the agents' sender.

Tansu stands in for Apache Kafka here: it speaks the same protocol, including the producer-id
handshake an idempotent producer needs, so kafka-python's checks of the combination and the
sender's use of it are exercised against a real broker.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from agents._otel._kafka import KafkaSender
from agents._otel._settings import KafkaSettings, TopicSettings
from agents._otel._spool import DeliveryQueue
from continuum._durability import violations
from continuum.services import TansuBroker

_RECORDS = 50


def test_an_idempotent_acks_all_sender_delivers_every_record(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    from kafka import KafkaConsumer

    topic = f"durable-{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(
        bootstrap_servers=tansu.bootstrap,
        topic=topic,
        profile="production",
        acks="all",
        enable_idempotence=True,
        topics=TopicSettings(replication_factor=3, min_insync_replicas=2, retention_hours=72),
        request_timeout_ms=2000,
    )
    assert violations(settings) == []
    queue = DeliveryQueue(tmp_path / "spool", max_memory_messages=64, max_spool_bytes=1 << 20)
    sender = KafkaSender(queue, settings)
    sender.start()
    try:
        for seq in range(_RECORDS):
            queue.put(b"node-1", f"record-{seq}".encode(), 1)
        assert sender.force_flush(30_000), "the queue did not drain"
    finally:
        sender.shutdown(5_000)
    assert sender.delivered_messages == _RECORDS
    assert sender.errors == 0

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=tansu.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    seen: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(seen) < _RECORDS and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                seen += [record.value for record in batch]
    finally:
        consumer.close()
    # In order, each once: the idempotent producer added no duplicates.
    assert seen == [f"record-{seq}".encode() for seq in range(_RECORDS)]
