"""The SDK over snapshots: kinds, exact resource and scope, start times, and container churn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agents._otel import InstrumentKind, InstrumentSpec, Reading, ReadingBoard, SnapshotMeter
from agents._otel import Resource as AgentResource
from agents._otel._meter import CARDINALITY_LIMIT, cardinality_limits

CPU = InstrumentSpec("container.cpu.time", InstrumentKind.COUNTER, "s", "CPU time.")
FILES = InstrumentSpec("process.open.files", InstrumentKind.UP_DOWN_COUNTER, "{file}", "Files.")
MEMORY = InstrumentSpec("container.memory.usage", InstrumentKind.GAUGE, "By", "Memory.")


def cpu(container: str, value: float) -> Reading:
    return Reading("container.cpu.time", value, {"container.id": container, "cpu.mode": "user"})


class Meter:
    def __init__(self, *specs: InstrumentSpec, resource: dict[str, str] | None = None) -> None:
        self.board = ReadingBoard(specs)
        self.reader = InMemoryMetricReader(cardinality_limits=cardinality_limits())
        self.meter = SnapshotMeter(
            self.board, AgentResource(resource or {}), "continuum.agents.x", [self.reader]
        )

    def cycle(self, readings: dict[str, list[Reading]]) -> ExportMetricsServiceRequest:
        self.meter.forget_vanished(self.board.publish(readings))
        data = self.reader.get_metrics_data()
        assert data is not None
        return encode_metrics(data)


@pytest.fixture
def meters() -> Iterator[list[Meter]]:
    made: list[Meter] = []
    yield made
    for m in made:
        m.meter.shutdown()


def starts(request: ExportMetricsServiceRequest) -> dict[str, int]:
    (metric,) = [
        m
        for m in request.resource_metrics[0].scope_metrics[0].metrics
        if m.name == "container.cpu.time"
    ]
    return {
        next(a.value.string_value for a in p.attributes if a.key == "container.id"): (
            p.start_time_unix_nano
        )
        for p in metric.sum.data_points
    }


def test_kinds_exact_resource_and_scope(meters: list[Meter]) -> None:
    m = Meter(CPU, FILES, MEMORY, resource={"continuum.node.id": "n1"})
    meters.append(m)
    request = m.cycle(
        {
            "container.cpu.time": [cpu("a", 1.5)],
            "process.open.files": [Reading("process.open.files", 4)],
            "container.memory.usage": [Reading("container.memory.usage", 2e6)],
        }
    )
    (resource_metrics,) = request.resource_metrics
    # Exactly the agent's attributes: none of the SDK's defaults (telemetry.sdk.*, service.name).
    assert [(kv.key, kv.value.string_value) for kv in resource_metrics.resource.attributes] == [
        ("continuum.node.id", "n1")
    ]
    (scope_metrics,) = resource_metrics.scope_metrics
    assert scope_metrics.scope.name == "continuum.agents.x"
    by_name = {metric.name: metric for metric in scope_metrics.metrics}
    cpu_time, files, memory = (
        by_name["container.cpu.time"],
        by_name["process.open.files"],
        by_name["container.memory.usage"],
    )
    assert (cpu_time.unit, cpu_time.description) == ("s", "CPU time.")
    assert cpu_time.sum.is_monotonic
    assert cpu_time.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
    assert cpu_time.sum.data_points[0].as_double == 1.5
    assert not files.sum.is_monotonic
    assert files.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
    assert files.sum.data_points[0].as_int == 4
    (point,) = memory.gauge.data_points
    assert point.as_double == 2e6


def test_instruments_without_readings_are_left_out(meters: list[Meter]) -> None:
    m = Meter(CPU, MEMORY)
    meters.append(m)
    request = m.cycle({"container.cpu.time": [cpu("a", 1)]})
    names = [x.name for x in request.resource_metrics[0].scope_metrics[0].metrics]
    assert names == ["container.cpu.time"]


def test_sum_starts_when_first_seen_and_vanished_series_are_forgotten(
    meters: list[Meter],
) -> None:
    m = Meter(CPU)
    meters.append(m)
    first = starts(m.cycle({"container.cpu.time": [cpu("a", 1), cpu("b", 1)]}))
    assert set(first) == {"a", "b"}
    second = starts(m.cycle({"container.cpu.time": [cpu("a", 2), cpu("c", 1)]}))
    assert set(second) == {"a", "c"}
    assert second["a"] == first["a"]
    assert second["c"] > max(first.values())
    assert m.meter.tracked_series == 2  # b left: nothing of it is kept
    # A container id seen again after it vanished starts over (its counters did too).
    third = starts(m.cycle({"container.cpu.time": [cpu("a", 3), cpu("b", 1)]}))
    assert third["a"] == first["a"]
    assert third["b"] > first["b"]
    m.meter.forget_vanished(m.board.publish({}))
    assert m.reader.get_metrics_data() is None
    assert m.meter.tracked_series == 0


def test_churn_past_the_sdk_limit_neither_overflows_nor_grows(meters: list[Meter]) -> None:
    m = Meter(CPU)
    meters.append(m)
    # 3,000 containers over the run, more than the SDK's default limit of 2,000 per instrument.
    for batch in range(30):
        readings = [cpu(f"{batch}-{i}", 1.0) for i in range(100)]
        request = m.cycle({"container.cpu.time": readings})
    assert set(starts(request)) == {f"29-{i}" for i in range(100)}
    text = str(request)
    assert "overflow" not in text
    assert m.meter.tracked_series == 100


def test_one_collection_holds_more_series_than_the_sdk_default(meters: list[Meter]) -> None:
    m = Meter(CPU)
    meters.append(m)
    request = m.cycle({"container.cpu.time": [cpu(str(i), 1.0) for i in range(2_500)]})
    assert len(starts(request)) == 2_500 < CARDINALITY_LIMIT
