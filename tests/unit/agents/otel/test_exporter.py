"""KafkaMetricExporter under a stock SDK: results, OTLP records, splitting, outage and restart."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from agents._otel import KafkaMetricExporter, KafkaSettings
from tests.unit.agents.otel.fake_kafka import FakeProducer


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class App:
    """An application instrumented with the plain SDK, exporting through the exporter."""

    def __init__(self, exporter: KafkaMetricExporter, series: int = 1) -> None:
        self.reader = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
        self.provider = MeterProvider(
            metric_readers=[self.reader],
            resource=Resource({"continuum.node.id": "edge-01", "continuum.workflow": "wf"}),
            shutdown_on_exit=False,
        )
        meter = self.provider.get_meter("app")
        self.requests = meter.create_counter("app.requests", unit="{request}")
        self.series = series
        meter.create_observable_gauge("app.load", [self._observe], unit="1")

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(0.5, {"slot": f"{i:06d}" * 10}) for i in range(self.series)]


def exporter(tmp_path: Path, producer: FakeProducer, **kwargs: int) -> KafkaMetricExporter:
    made = KafkaMetricExporter(
        KafkaSettings(topic="otlp_metrics"),
        key="edge-01",
        spool_dir=tmp_path / "spool",
        producer_factory=producer,
        **kwargs,  # type: ignore[arg-type]
    )
    made.sender._probe = lambda: not producer.down  # type: ignore[method-assign]
    return made


def decode(value: bytes) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(value)
    return request


def test_is_an_sdk_exporter_that_delivers_otlp_records(tmp_path: Path) -> None:
    producer = FakeProducer()
    sink = exporter(tmp_path, producer)
    assert isinstance(sink, MetricExporter)
    app = App(sink)
    app.requests.add(3, {"route": "/mine"})
    app.reader.collect()
    assert sink.force_flush(5_000)
    (record,) = producer.records
    assert (record.topic, record.key) == ("otlp_metrics", b"edge-01")
    assert ("content-type", b"application/x-protobuf") in record.headers
    (rm,) = decode(record.value).resource_metrics
    resource = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
    assert resource["continuum.node.id"] == "edge-01"
    assert resource["continuum.workflow"] == "wf"
    metrics = {m.name: m for m in rm.scope_metrics[0].metrics}
    assert metrics["app.requests"].sum.data_points[0].as_int == 3
    assert metrics["app.requests"].sum.is_monotonic
    assert sink.exported_points == 2
    assert sink.sender.delivered_points == 2
    app.provider.shutdown()
    # After shutdown nothing more is taken.
    assert sink.export(MetricsData(resource_metrics=[])) is MetricExportResult.FAILURE


def test_large_exports_are_split_under_the_message_limit(tmp_path: Path) -> None:
    producer = FakeProducer()
    sink = exporter(tmp_path, producer, max_message_bytes=50_000)
    app = App(sink, series=2_000)
    app.reader.collect()
    assert sink.force_flush(5_000)
    assert len(producer.records) > 2
    assert all(len(r.value) <= 50_000 for r in producer.records)
    points = sum(
        len(m.gauge.data_points)
        for r in producer.records
        for m in decode(r.value).resource_metrics[0].scope_metrics[0].metrics
        if m.name == "app.load"
    )
    assert points == 2_000
    app.provider.shutdown()


def test_outage_spools_and_a_restart_delivers_first(tmp_path: Path) -> None:
    producer = FakeProducer(down=True)
    sink = exporter(tmp_path, producer)
    app = App(sink)
    for total in (1, 2, 3):
        app.requests.add(1)
        app.reader.collect()
        assert sink.queue.depth == total  # queued at once, whatever the broker does
    wait_for(lambda: sink.sender.errors >= 1)
    assert not sink.force_flush(100)
    # The process ends during the outage: everything stays on disk ...
    app.provider.shutdown(timeout_millis=500)
    assert not producer.records
    # ... and the next run of the application delivers it first, in order (at least once).
    producer.down = False
    again = exporter(tmp_path, producer)
    assert again.force_flush(10_000)
    totals = [
        next(
            m.sum.data_points[0].as_int
            for m in decode(r.value).resource_metrics[0].scope_metrics[0].metrics
            if m.name == "app.requests"
        )
        for r in producer.records
    ]
    assert totals == [1, 2, 3]
    again.shutdown()


def test_shutdown_without_start_keeps_what_was_queued(tmp_path: Path) -> None:
    producer = FakeProducer()
    sink = KafkaMetricExporter(
        KafkaSettings(),
        key="n",
        spool_dir=tmp_path / "spool",
        producer_factory=producer,
        start=False,
    )
    app = App(sink)
    app.requests.add(1)
    app.reader.collect()
    assert not sink.force_flush(10)
    app.provider.shutdown()
    assert not producer.records
    assert list((tmp_path / "spool").iterdir())
