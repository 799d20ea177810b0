"""The OTLP encoder: kinds, resource and scope, and the start times of cumulative sums."""

from __future__ import annotations

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE

from agents._otel import InstrumentKind, InstrumentSpec, OtlpEncoder, Reading, ReadingBoard
from agents._otel import Resource as AgentResource

CPU = InstrumentSpec("container.cpu.time", InstrumentKind.COUNTER, "s", "CPU time.")
FILES = InstrumentSpec("process.open.files", InstrumentKind.UP_DOWN_COUNTER, "{file}", "Files.")
MEMORY = InstrumentSpec("container.memory.usage", InstrumentKind.GAUGE, "By", "Memory.")


def cpu(container: str, value: float) -> Reading:
    return Reading("container.cpu.time", value, {"container.id": container, "cpu.mode": "user"})


def starts(request: ExportMetricsServiceRequest) -> dict[str, int]:
    (metric,) = [
        m
        for m in request.resource_metrics[0].scope_metrics[0].metrics
        if m.name == "container.cpu.time"
    ]
    return {
        p.attributes[0].value.string_value: p.start_time_unix_nano for p in metric.sum.data_points
    }


def test_kinds_resource_and_scope() -> None:
    board = ReadingBoard([CPU, FILES, MEMORY])
    encoder = OtlpEncoder(
        AgentResource({"continuum.node.id": "n1"}), "continuum.agents.x", board.specs
    )
    readings = {
        "container.cpu.time": [cpu("a", 1.5)],
        "process.open.files": [Reading("process.open.files", 4)],
        "container.memory.usage": [Reading("container.memory.usage", 2e6)],
    }
    request = encoder.encode(board.publish(readings, time_unix_nano=5_000))
    (resource_metrics,) = request.resource_metrics
    assert [(kv.key, kv.value.string_value) for kv in resource_metrics.resource.attributes] == [
        ("continuum.node.id", "n1")
    ]
    (scope_metrics,) = resource_metrics.scope_metrics
    assert scope_metrics.scope.name == "continuum.agents.x"
    cpu_time, files, memory = scope_metrics.metrics
    assert (cpu_time.unit, cpu_time.description) == ("s", "CPU time.")
    assert cpu_time.sum.is_monotonic
    assert cpu_time.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
    assert cpu_time.sum.data_points[0].as_double == 1.5
    assert not files.sum.is_monotonic
    assert files.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
    assert files.sum.data_points[0].as_int == 4
    (point,) = memory.gauge.data_points
    assert (point.time_unix_nano, point.start_time_unix_nano, point.as_double) == (5_000, 0, 2e6)


def test_sum_starts_when_first_seen_and_vanished_series_are_forgotten() -> None:
    board = ReadingBoard([CPU])
    encoder = OtlpEncoder(AgentResource(), "continuum.agents.x", board.specs)

    def cycle(at_ns: int, *readings: Reading) -> dict[str, int]:
        return starts(encoder.encode(board.publish({"container.cpu.time": list(readings)}, at_ns)))

    assert cycle(100, cpu("a", 1), cpu("b", 1)) == {"a": 100, "b": 100}
    assert cycle(200, cpu("a", 2), cpu("c", 1)) == {"a": 100, "c": 200}
    assert encoder.tracked_series == 2  # b left: nothing of it is kept
    # A container id seen again after it vanished starts over (its counters did too).
    assert cycle(300, cpu("a", 3), cpu("b", 1)) == {"a": 100, "b": 300}
    encoder.encode(board.publish({}, 400))
    assert encoder.tracked_series == 0
