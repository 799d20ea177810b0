"""The reading board: both readers observe the published snapshot; bad readings are contained."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents._otel._instruments import ReadingBoard

GAUGE = InstrumentSpec("test.gauge", InstrumentKind.GAUGE, "By", "A gauge.")
COUNTER = InstrumentSpec("test.counter", InstrumentKind.COUNTER, "s", "A counter.")


def values(reader: InMemoryMetricReader) -> dict[str, list[float]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        m.name: [p.value for p in m.data.data_points]  # type: ignore[union-attr]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


def test_snapshot_is_what_every_reader_sees_and_unknown_readings_are_dropped() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    board = ReadingBoard(provider.get_meter("t"), [GAUGE, COUNTER, GAUGE])
    board.publish(
        {
            "test.gauge": [
                Reading("test.gauge", 5.0, {"k": "a"}),
                Reading("test.gauge", 6.0, {"k": "b"}),
            ],
            "test.counter": [Reading("test.counter", 1.5)],
            "test.undeclared": [Reading("test.undeclared", 1.0)],
        }
    )
    assert values(reader) == {"test.gauge": [5.0, 6.0], "test.counter": [1.5]}
    board.publish({"test.counter": [Reading("test.counter", 2.5)]})
    got = values(reader)
    assert got["test.counter"] == [2.5]
    assert got.get("test.gauge", []) == []  # vanished series are not repeated
    provider.shutdown()


def test_conflicting_declarations_are_refused() -> None:
    provider = MeterProvider(shutdown_on_exit=False)
    other = InstrumentSpec("test.gauge", InstrumentKind.GAUGE, "s", "Different unit.")
    with pytest.raises(ValueError, match="declared twice"):
        ReadingBoard(provider.get_meter("t"), [GAUGE, other])
