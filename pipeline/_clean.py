"""Cleaning: nothing Prometheus would reject leaves the worker.

One bad sample makes Prometheus reject a whole remote-write request (docs/platform.md), so every
sample is checked here first. Each rule that drops or adjusts a sample counts it under its reason::

    cleaner = Cleaner(CleaningRules())
    key = cleaner.check_series("up", [("node", "n1")])      # SeriesKey, or a reason str
    if not isinstance(key, str):
        series = cleaner.intern(key, "n1")
        cleaner.accept(series, ts_ms, 1.0, GAUGE, now_ms)   # False: dropped and counted

Series rules (checked once per distinct series and cached by the caller): legal metric name,
legal and unique label names, valid UTF-8, allow and deny lists. Sample rules: finite values
where required, timestamps within the future skew and the out-of-order window, one sample per
series and timestamp, non-negative counters, the per-node series limit. A counter that goes
down is a reset: Prometheus handles it in ``rate()``, so it is counted and kept.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline._naming import is_valid_label_name, is_valid_metric_name
from pipeline._remote_write import SeriesKey, SeriesRef

__all__ = [
    "COUNTER",
    "FINITE",
    "GAUGE",
    "Cleaner",
    "CleaningRules",
    "DropReason",
]

#: Sample kinds: what values a sample may take.
GAUGE = 0  # any number but NaN (NaN is the staleness marker's encoding)
COUNTER = 1  # finite, non-negative; a decrease is a reset
FINITE = 2  # finite (histogram sums, summary quantiles)


class DropReason:
    """Reasons a sample, series or record is dropped (the ``reason`` label)."""

    NON_FINITE = "non_finite"
    NEGATIVE_COUNTER = "negative_counter"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_OLD = "too_old"
    DUPLICATE_SAMPLE = "duplicate_sample"
    SERIES_LIMIT = "series_limit"
    INVALID_METRIC_NAME = "invalid_metric_name"
    INVALID_LABEL_NAME = "invalid_label_name"
    LABEL_COLLISION = "label_collision"
    INVALID_UTF8 = "invalid_utf8"
    NOT_ALLOWED = "not_allowed"
    DENIED = "denied"
    UNSUPPORTED = "unsupported"
    AGGREGATE_REJECTED = "aggregate_rejected"


@dataclass(frozen=True)
class CleaningRules:
    """Limits the cleaner enforces.

    Attributes:
        max_future_skew_s: samples further ahead of the worker's clock are dropped (one far
            future sample would move Prometheus's head and make later samples "too old").
        out_of_order_window_s: Prometheus's out-of-order window; older samples are dropped,
            with ``max_future_skew_s`` of margin since the head may run ahead of the clock.
        max_series_per_node: cardinality guard; new series past it are dropped.
        series_idle_expiry_s: a series unseen this long is forgotten (frees its limit slot).
        allow: metric-name regexes; when any is given, only matching names pass.
        deny: metric-name regexes that never pass.
    """

    max_future_skew_s: float = 60.0
    out_of_order_window_s: float = 600.0
    max_series_per_node: int = 20_000
    series_idle_expiry_s: float = 900.0
    allow: tuple[str, ...] = field(default_factory=tuple)
    deny: tuple[str, ...] = field(default_factory=tuple)


def _any_match(patterns: Iterable[re.Pattern[str]], name: str) -> bool:
    return any(p.fullmatch(name) for p in patterns)


class Cleaner:
    """Checks series and samples; keeps per-series state for resets, duplicates and limits.

    Not thread-safe: one consumer thread owns it.

    Attributes:
        dropped: reason -> samples (or series occurrences) dropped.
        adjusted: reason -> samples kept after an adjustment (``counter_reset``,
            ``unit_normalised``, ``delta_to_cumulative``, ``label_renamed``).
    """

    def __init__(self, rules: CleaningRules, clock: Callable[[], float] = time.time):
        self.rules = rules
        self.dropped: dict[str, int] = {}
        self.adjusted: dict[str, int] = {}
        self._clock = clock
        self._allow = [re.compile(p) for p in rules.allow]
        self._deny = [re.compile(p) for p in rules.deny]
        self._future_ms = int(rules.max_future_skew_s * 1000)
        old_s = max(rules.out_of_order_window_s - rules.max_future_skew_s - 5.0, 5.0)
        self._old_ms = int(old_s * 1000)
        self._state: dict[SeriesKey, SeriesRef] = {}
        self._record = 0
        self._node_series: dict[str, int] = {}

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` items dropped for ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    def adjust(self, reason: str, count: int = 1) -> None:
        """Count ``count`` samples kept after an adjustment named ``reason``."""
        self.adjusted[reason] = self.adjusted.get(reason, 0) + count

    def name_allowed(self, name: str) -> str | None:
        """Return the drop reason for a metric name under the allow/deny lists, or None."""
        if self._allow and not _any_match(self._allow, name):
            return DropReason.NOT_ALLOWED
        if self._deny and _any_match(self._deny, name):
            return DropReason.DENIED
        return None

    def check_series(self, name: str, labels: Iterable[tuple[str, str]]) -> SeriesKey | str:
        """Validate a series; return its key (labels sorted, ``__name__`` included) or a reason.

        Labels with empty values are left out: Prometheus treats them as absent.
        """
        if not is_valid_metric_name(name):
            return DropReason.INVALID_METRIC_NAME
        reason = self.name_allowed(name)
        if reason is not None:
            return reason
        pairs = [("__name__", name)]
        seen = set()
        for label, value in labels:
            if not is_valid_label_name(label):
                return DropReason.INVALID_LABEL_NAME
            if label in seen:
                return DropReason.LABEL_COLLISION
            seen.add(label)
            if value:
                pairs.append((label, value))
        try:
            for _label, value in pairs:
                value.encode()
        except UnicodeEncodeError:
            return DropReason.INVALID_UTF8
        pairs.sort()
        return tuple(pairs)

    def now_ms(self) -> int:
        """The worker's clock in milliseconds (one read per record is enough)."""
        return int(self._clock() * 1000)

    def begin_record(self) -> None:
        """Start a record: timestamps seen twice for a series are counted per record."""
        self._record += 1

    def _seen_in_record(self, series: SeriesRef, ts_ms: int) -> bool:
        """Tell whether ``series`` already had a sample at ``ts_ms`` in this record; note it."""
        if series.record != self._record:
            series.record = self._record
            series.record_ts = ts_ms
            return False
        seen = series.record_ts
        if isinstance(seen, int):
            if seen == ts_ms:
                return True
            series.record_ts = {seen, ts_ms}
            return False
        if ts_ms in seen:
            return True
        seen.add(ts_ms)
        return False

    def intern(self, labels: SeriesKey, node: str) -> SeriesRef:
        """Return the one :class:`SeriesRef` of ``labels`` (created untracked if new)."""
        series = self._state.get(labels)
        if series is None:
            series = SeriesRef(labels, node)
            self._state[labels] = series
        return series

    def accept(self, series: SeriesRef, ts_ms: int, value: float, kind: int, now_ms: int) -> bool:
        """Check one sample; count and return False when it must not be sent."""
        if value != value:  # NaN
            self.drop(DropReason.NON_FINITE)
            return False
        if kind != GAUGE and (value == math.inf or value == -math.inf):
            self.drop(DropReason.NON_FINITE)
            return False
        if ts_ms > now_ms + self._future_ms:
            self.drop(DropReason.FUTURE_TIMESTAMP)
            return False
        if ts_ms < now_ms - self._old_ms:
            self.drop(DropReason.TOO_OLD)
            return False
        if kind == COUNTER and value < 0:
            self.drop(DropReason.NEGATIVE_COUNTER)
            return False
        if not series.tracked:
            node = series.node
            count = self._node_series.get(node, 0)
            if count >= self.rules.max_series_per_node:
                self.drop(DropReason.SERIES_LIMIT)
                return False
            self._node_series[node] = count + 1
            series.tracked = True
            series.ts_ms = ts_ms
            series.value = value
            series.record = self._record
            series.record_ts = ts_ms
            return True
        last_ts = series.ts_ms
        if ts_ms == last_ts:
            # Same series and timestamp twice: Prometheus answers 400 if the values differ.
            self.drop(DropReason.DUPLICATE_SAMPLE)
            return False
        if self._seen_in_record(series, ts_ms):
            # An out-of-order sample at a timestamp this record already gave (A, B, then A
            # again): one request would carry two values at one timestamp.
            self.drop(DropReason.DUPLICATE_SAMPLE)
            return False
        if ts_ms > last_ts:
            if kind == COUNTER and value < series.value:
                self.adjust("counter_reset")
            series.ts_ms = ts_ms
            series.value = value
        return True

    def expire(self, now_ms: int | None = None) -> int:
        """Forget series idle past the expiry; return how many were forgotten.

        Callers that cache :class:`SeriesRef` objects must drop their caches afterwards.
        """
        now = self.now_ms() if now_ms is None else now_ms
        horizon = now - int(self.rules.series_idle_expiry_s * 1000)
        stale = [s for s in self._state.values() if s.ts_ms < horizon]
        for series in stale:
            del self._state[series.labels]
            if not series.tracked:
                continue
            series.tracked = False
            left = self._node_series.get(series.node, 1) - 1
            if left > 0:
                self._node_series[series.node] = left
            else:
                self._node_series.pop(series.node, None)
        return len(stale)

    @property
    def tracked_series(self) -> int:
        """Series currently tracked (all nodes)."""
        return sum(self._node_series.values())

    @property
    def tracked_nodes(self) -> int:
        """Nodes with at least one tracked series."""
        return len(self._node_series)
