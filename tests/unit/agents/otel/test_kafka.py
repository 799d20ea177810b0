"""OTLP to Kafka through the FIFO: splitting, outage, replay in order, producer recreation."""

from __future__ import annotations

import time
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from agents._otel import DeliveryQueue, KafkaSender, KafkaSettings, count_points, split_request
from tests.unit.agents.otel.fake_kafka import FakeProducer


def big_request(metrics: int, points: int) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    attr = rm.resource.attributes.add()
    attr.key, attr.value.string_value = "continuum.node.id", "edge-01"
    sm = rm.scope_metrics.add()
    sm.scope.name = "test"
    for m in range(metrics):
        metric: Metric = sm.metrics.add()
        metric.name = f"test.metric.{m}"
        for p in range(points):
            dp = metric.gauge.data_points.add()
            dp.as_double = float(p)
            label = dp.attributes.add()
            label.key, label.value.string_value = "id", f"{p:08d}" * 8
    return request


def test_split_keeps_every_point_under_the_limit() -> None:
    request = big_request(metrics=6, points=2000)
    assert request.ByteSize() > 1_000_000
    parts = split_request(request, 200_000)
    assert len(parts) > 5
    assert all(p.ByteSize() <= 200_000 for p in parts)
    assert sum(count_points(p) for p in parts) == 12_000
    # Every part is a whole request: resource and scope repeated.
    for part in parts:
        assert part.resource_metrics[0].resource.attributes[0].value.string_value == "edge-01"
        assert part.resource_metrics[0].scope_metrics[0].scope.name == "test"
    # Points stay in order within each metric.
    values = [
        dp.as_double
        for p in parts
        for m in p.resource_metrics[0].scope_metrics[0].metrics
        if m.name == "test.metric.0"
        for dp in m.gauge.data_points
    ]
    assert values == [float(i) for i in range(2000)]


def test_small_request_is_not_split() -> None:
    request = big_request(metrics=2, points=3)
    assert split_request(request, 900_000) == [request]


def wait_for(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_outage_spools_then_replays_everything_in_order(tmp_path: Path) -> None:
    producer = FakeProducer()
    queue = DeliveryQueue(tmp_path, max_memory_messages=4, max_spool_bytes=1 << 20)
    sender = KafkaSender(queue, KafkaSettings(topic="otlp_metrics"), producer_factory=producer)
    sender._probe = lambda: not producer.down  # type: ignore[method-assign]
    sender.start()
    try:
        queue.put(b"n", b"0", points=1)
        wait_for(lambda: len(producer.records) == 1)
        producer.down = True
        for i in range(1, 11):
            queue.put(b"n", str(i).encode(), points=1)
        wait_for(lambda: sender.errors >= 1)
        wait_for(lambda: queue.spool_bytes > 0)
        producer.down = False
        wait_for(lambda: queue.depth == 0, timeout_s=10)
        assert [r.value for r in producer.records] == [str(i).encode() for i in range(11)]
        # The producer that failed was dropped and a fresh one made.
        assert producer.closed >= 1
        assert producer.created >= 2
        assert sender.delivered_points == 11
        assert all(r.topic == "otlp_metrics" for r in producer.records)
        assert all(
            ("content-type", b"application/x-protobuf") in r.headers for r in producer.records
        )
    finally:
        sender.shutdown(1_000)


def test_fatal_producer_error_recreates_the_producer(tmp_path: Path) -> None:
    producer = FakeProducer()
    queue = DeliveryQueue(tmp_path, max_memory_messages=4, max_spool_bytes=1 << 20)
    sender = KafkaSender(queue, KafkaSettings(), producer_factory=producer)
    sender._probe = lambda: True  # type: ignore[method-assign]
    sender.start()
    try:
        queue.put(b"n", b"0", points=1)
        wait_for(lambda: len(producer.records) == 1)
        producer.broken = True
        queue.put(b"n", b"1", points=1)
        wait_for(lambda: queue.depth == 0, timeout_s=10)
        assert [r.value for r in producer.records] == [b"0", b"1"]
        assert producer.closed == 1
        assert producer.created == 2
    finally:
        sender.shutdown(1_000)


def test_stop_during_outage_leaves_everything_in_the_spool(tmp_path: Path) -> None:
    producer = FakeProducer(down=True)
    queue = DeliveryQueue(tmp_path, max_memory_messages=64, max_spool_bytes=1 << 20)
    sender = KafkaSender(queue, KafkaSettings(), producer_factory=producer)
    sender.start()
    for i in range(3):
        queue.put(b"n", str(i).encode(), points=2)
    wait_for(lambda: sender.errors >= 1)
    sender.shutdown(1_000)
    reloaded = DeliveryQueue(tmp_path, max_memory_messages=64, max_spool_bytes=1 << 20)
    assert [m.value for m in reloaded.peek(10)] == [b"0", b"1", b"2"]
    assert reloaded.pending_points == 6


def test_the_sender_has_the_sink_shape(tmp_path: Path) -> None:
    from continuum._sink import ExportResult

    producer = FakeProducer()
    queue = DeliveryQueue(tmp_path, max_memory_messages=4, max_spool_bytes=1 << 20)
    sender = KafkaSender(queue, KafkaSettings(topic="otlp_metrics"), producer_factory=producer)
    sender.start()
    assert sender.export([(b"n", b"0", 1), (b"n", b"1", 1)]) is ExportResult.SUCCESS
    assert sender.force_flush(5_000)
    assert [r.value for r in producer.records] == [b"0", b"1"]
    sender.shutdown(1_000)
    assert sender.export([(b"n", b"2", 1)]) is ExportResult.FAILURE
