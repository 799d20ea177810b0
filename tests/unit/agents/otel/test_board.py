"""The reading board: one snapshot per cycle for both paths; bad readings are contained."""

from __future__ import annotations

import pytest

from agents._otel import InstrumentKind, InstrumentSpec, Reading, ReadingBoard

GAUGE = InstrumentSpec("test.gauge", InstrumentKind.GAUGE, "By", "A gauge.")
COUNTER = InstrumentSpec("test.counter", InstrumentKind.COUNTER, "s", "A counter.")


def test_snapshot_holds_declared_readings_and_replaces_the_last() -> None:
    board = ReadingBoard([GAUGE, COUNTER, GAUGE])
    assert list(board.specs) == ["test.gauge", "test.counter"]
    assert board.snapshot.readings == {}
    gauge = [Reading("test.gauge", 5.0, {"k": "a"}), Reading("test.gauge", 6, {"k": "b"})]
    first = board.publish(
        {
            "test.gauge": gauge,
            "test.counter": [Reading("test.counter", 1.5)],
            "test.undeclared": [Reading("test.undeclared", 1.0)],
        },
        time_unix_nano=1_000,
    )
    assert board.snapshot is first
    assert first.time_unix_nano == 1_000
    assert first.readings == {"test.gauge": gauge, "test.counter": [Reading("test.counter", 1.5)]}
    second = board.publish({"test.counter": [Reading("test.counter", 2.5)]})
    assert second.readings == {"test.counter": [Reading("test.counter", 2.5)]}
    assert second.time_unix_nano > 1_000  # now, by default


def test_non_numeric_values_and_attributes_are_dropped_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board = ReadingBoard([GAUGE])
    good = Reading("test.gauge", 1.0, {"k": "a", "n": 3})
    bad = [
        Reading("test.gauge", "7", {}),  # type: ignore[arg-type]
        Reading("test.gauge", None, {}),  # type: ignore[arg-type]
        Reading("test.gauge", True, {}),
        Reading("test.gauge", 2.0, {"k": ["a"]}),  # type: ignore[dict-item]
        Reading("test.gauge", 2.0, {1: "a"}),  # type: ignore[dict-item]
        Reading("test.gauge", 2.0, None),  # type: ignore[arg-type]
    ]
    for _ in range(2):
        snapshot = board.publish({"test.gauge": [good, *bad]})
        assert snapshot.readings == {"test.gauge": [good]}
    assert len([r for r in caplog.records if "test.gauge" in r.getMessage()]) == 1


def test_conflicting_declarations_are_refused() -> None:
    other = InstrumentSpec("test.gauge", InstrumentKind.GAUGE, "s", "Different unit.")
    with pytest.raises(ValueError, match="declared twice"):
        ReadingBoard([GAUGE, other])
