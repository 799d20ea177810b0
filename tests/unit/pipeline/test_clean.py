"""Every cleaning rule: what is dropped, under which reason, and what is kept."""

from __future__ import annotations

import math

import pytest

from pipeline._clean import COUNTER, FINITE, GAUGE, Cleaner, CleaningRules, DropReason
from pipeline._remote_write import SeriesRef

NOW_MS = 1_800_000_000_000


def _cleaner(**rules: object) -> Cleaner:
    return Cleaner(CleaningRules(**rules), clock=lambda: NOW_MS / 1000)  # type: ignore[arg-type]


def _series(cleaner: Cleaner, name: str = "m", node: str = "n1", **labels: str) -> SeriesRef:
    key = cleaner.check_series(name, [("node", node), *labels.items()])
    assert not isinstance(key, str), key
    return cleaner.intern(key, node)


@pytest.mark.parametrize(
    ("value", "kind", "accepted"),
    [
        (math.nan, GAUGE, False),
        (math.nan, COUNTER, False),
        (math.inf, GAUGE, True),
        (-math.inf, GAUGE, True),
        (math.inf, COUNTER, False),
        (-math.inf, FINITE, False),
        (1.5, FINITE, True),
    ],
)
def test_non_finite_values(value: float, kind: int, accepted: bool) -> None:
    cleaner = _cleaner()
    assert cleaner.accept(_series(cleaner), NOW_MS, value, kind, NOW_MS) is accepted
    assert cleaner.dropped.get(DropReason.NON_FINITE, 0) == (0 if accepted else 1)


def test_future_timestamps_beyond_the_skew_are_dropped() -> None:
    cleaner = _cleaner(max_future_skew_s=30)
    s = _series(cleaner)
    assert cleaner.accept(s, NOW_MS + 29_000, 1.0, GAUGE, NOW_MS)
    assert not cleaner.accept(s, NOW_MS + 31_000, 1.0, GAUGE, NOW_MS)
    assert cleaner.dropped == {DropReason.FUTURE_TIMESTAMP: 1}


def test_samples_older_than_the_out_of_order_window_are_dropped() -> None:
    cleaner = _cleaner(out_of_order_window_s=600, max_future_skew_s=60)
    s = _series(cleaner)
    # The usable window keeps the skew (and 5 s) as margin: 600 - 60 - 5 = 535 s.
    assert cleaner.accept(s, NOW_MS - 530_000, 1.0, GAUGE, NOW_MS)
    assert not cleaner.accept(s, NOW_MS - 540_000, 2.0, GAUGE, NOW_MS)
    assert not cleaner.accept(s, 0, 2.0, GAUGE, NOW_MS)
    assert cleaner.dropped == {DropReason.TOO_OLD: 2}


def test_duplicate_sample_for_a_series_and_timestamp_is_dropped() -> None:
    cleaner = _cleaner()
    s = _series(cleaner)
    assert cleaner.accept(s, NOW_MS, 1.0, GAUGE, NOW_MS)
    assert not cleaner.accept(s, NOW_MS, 2.0, GAUGE, NOW_MS)
    assert cleaner.accept(s, NOW_MS + 1, 2.0, GAUGE, NOW_MS)
    # An older, distinct timestamp is within the out-of-order window: Prometheus takes it.
    assert cleaner.accept(s, NOW_MS - 10_000, 0.5, GAUGE, NOW_MS)
    assert cleaner.dropped == {DropReason.DUPLICATE_SAMPLE: 1}


def test_an_out_of_order_repeat_within_one_record_is_dropped() -> None:
    cleaner = _cleaner()
    s = _series(cleaner)
    cleaner.begin_record()
    assert cleaner.accept(s, NOW_MS - 20_000, 1.0, GAUGE, NOW_MS)  # A
    assert cleaner.accept(s, NOW_MS - 10_000, 2.0, GAUGE, NOW_MS)  # B
    assert cleaner.accept(s, NOW_MS - 15_000, 3.0, GAUGE, NOW_MS)  # between: out of order
    # A and the in-between timestamp again, with other values: one request would hold two
    # values at one timestamp, which Prometheus refuses as a whole.
    assert not cleaner.accept(s, NOW_MS - 20_000, 9.0, GAUGE, NOW_MS)
    assert not cleaner.accept(s, NOW_MS - 15_000, 9.0, GAUGE, NOW_MS)
    assert cleaner.dropped == {DropReason.DUPLICATE_SAMPLE: 2}
    # A later record may carry an older timestamp again (a replay): it is not this record's.
    cleaner.begin_record()
    assert cleaner.accept(s, NOW_MS - 20_000, 1.0, GAUGE, NOW_MS)


def test_counter_resets_are_kept_and_counted() -> None:
    cleaner = _cleaner()
    s = _series(cleaner, "c_total")
    assert cleaner.accept(s, NOW_MS - 2000, 100.0, COUNTER, NOW_MS)
    assert cleaner.accept(s, NOW_MS - 1000, 3.0, COUNTER, NOW_MS)
    assert cleaner.accept(s, NOW_MS, 5.0, COUNTER, NOW_MS)
    assert cleaner.adjusted == {"counter_reset": 1}
    assert cleaner.dropped == {}


def test_negative_counters_are_dropped() -> None:
    cleaner = _cleaner()
    assert not cleaner.accept(_series(cleaner, "c_total"), NOW_MS, -1.0, COUNTER, NOW_MS)
    assert cleaner.dropped == {DropReason.NEGATIVE_COUNTER: 1}


def test_per_node_series_limit() -> None:
    cleaner = _cleaner(max_series_per_node=2)
    assert cleaner.accept(_series(cleaner, "a"), NOW_MS, 1, GAUGE, NOW_MS)
    assert cleaner.accept(_series(cleaner, "b"), NOW_MS, 1, GAUGE, NOW_MS)
    assert not cleaner.accept(_series(cleaner, "c"), NOW_MS, 1, GAUGE, NOW_MS)
    # Another node has its own budget; a known series keeps flowing.
    assert cleaner.accept(_series(cleaner, "c", node="n2"), NOW_MS, 1, GAUGE, NOW_MS)
    assert cleaner.accept(_series(cleaner, "a"), NOW_MS + 1, 1, GAUGE, NOW_MS)
    assert cleaner.dropped == {DropReason.SERIES_LIMIT: 1}
    assert cleaner.tracked_series == 3
    assert cleaner.tracked_nodes == 2


def test_idle_series_expire_and_free_their_slot() -> None:
    cleaner = _cleaner(max_series_per_node=1, series_idle_expiry_s=60)
    assert cleaner.accept(_series(cleaner, "a"), NOW_MS - 120_000, 1, GAUGE, NOW_MS)
    assert cleaner.expire(NOW_MS) == 1
    assert cleaner.tracked_series == 0
    assert cleaner.accept(_series(cleaner, "b"), NOW_MS, 1, GAUGE, NOW_MS)


@pytest.mark.parametrize(
    ("name", "labels", "reason"),
    [
        ("1bad", [], DropReason.INVALID_METRIC_NAME),
        ("", [], DropReason.INVALID_METRIC_NAME),
        ("m", [("1x", "v")], DropReason.INVALID_LABEL_NAME),
        ("m", [("__reserved", "v")], DropReason.INVALID_LABEL_NAME),
        ("m", [("a_b", "1"), ("a_b", "2")], DropReason.LABEL_COLLISION),
        ("m", [("a", "\udcff")], DropReason.INVALID_UTF8),
    ],
)
def test_invalid_series(name: str, labels: list[tuple[str, str]], reason: str) -> None:
    assert _cleaner().check_series(name, labels) == reason


def test_series_key_is_sorted_and_drops_empty_values() -> None:
    key = _cleaner().check_series("m", [("node", "n1"), ("b", ""), ("a", "x"), ("Z", "z")])
    assert key == (("Z", "z"), ("__name__", "m"), ("a", "x"), ("node", "n1"))


def test_allow_and_deny_lists() -> None:
    cleaner = _cleaner(allow=("system_.*", "up"), deny=("system_cpu_time.*",))
    assert not isinstance(cleaner.check_series("system_memory_usage_bytes", []), str)
    assert not isinstance(cleaner.check_series("up", []), str)
    assert cleaner.check_series("other", []) == DropReason.NOT_ALLOWED
    assert cleaner.check_series("system_cpu_time_seconds_total", []) == DropReason.DENIED
