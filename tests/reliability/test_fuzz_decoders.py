"""Property-based fuzzing of the pipeline's decoders and cleaner.

Arbitrary bytes raise nothing but :class:`pipeline.RecordError`; arbitrary names, label sets,
values and timestamps never yield a sample Prometheus's remote-write receiver would reject
(checked here by an independent validator, not by the cleaner's own predicates).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import RecordError
from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules
from pipeline._otlp import OtlpDecoder
from pipeline._samples import NodeSamples, SampleBuilder
from pipeline._text import TextDecoder
from tests.unit.pipeline.otlp_factory import DELTA, Payload

NOW_S = 1_800_000_000.0
NOW_MS = int(NOW_S * 1000)
RULES = CleaningRules(max_series_per_node=1_000)
# Prometheus accepts samples back to its out-of-order window and not past the future skew.
OLDEST_MS = NOW_MS - int(RULES.out_of_order_window_s * 1000)
NEWEST_MS = NOW_MS + int(RULES.max_future_skew_s * 1000)

# Derandomised: the same examples on every run, so a failure is reproducible, never flaky.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    derandomize=True,
)

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _builder() -> SampleBuilder:
    return SampleBuilder(Cleaner(RULES, clock=lambda: NOW_S), Aggregator())


def rejection(labels: tuple[tuple[str, str], ...], ts_ms: int, value: float) -> str | None:
    """Why Prometheus (2.x remote write, 10 min out-of-order window) would refuse a sample.

    NaN is refused too: Prometheus would store it, but it is the pipeline's rule to drop it (a
    NaN in a ranking input poisons every mean). Counter signs are the cleaner's rule by kind
    (unit-tested there); Prometheus takes a negative value under any name.
    """
    names = [name for name, _ in labels]
    if names != sorted(names):
        return "labels not sorted"
    if len(set(names)) != len(names):
        return "duplicate label name"
    metric = dict(labels).get("__name__")
    if metric is None or not _METRIC_NAME.match(metric):
        return f"invalid metric name {metric!r}"
    for name, label_value in labels:
        if name != "__name__" and (not _LABEL_NAME.match(name) or name.startswith("__")):
            return f"invalid label name {name!r}"
        if not label_value:
            return f"empty value of {name!r}"
        try:
            label_value.encode("utf-8")
        except UnicodeEncodeError:
            return f"label {name!r} is not UTF-8"
    if math.isnan(value):
        return "NaN sample"
    if not OLDEST_MS <= ts_ms <= NEWEST_MS:
        return "timestamp out of bounds"
    return None


def _check(groups: Iterable[NodeSamples]) -> None:
    seen: dict[tuple[Any, int], float] = {}
    for group in groups:
        for series, ts_ms, value in [*group.samples, *group.aggregates]:
            reason = rejection(series.labels, ts_ms, value)
            assert reason is None, f"{reason}: {series.labels} @ {ts_ms} = {value}"
            previous = seen.setdefault((series.labels, ts_ms), value)
            # One request with two values at one timestamp is refused as a whole.
            assert previous == value, f"duplicate sample {series.labels} @ {ts_ms}"


def _outcome(decode: Callable[[], list[NodeSamples]]) -> list[NodeSamples] | RecordError:
    """The decoded groups, or the RecordError raised (anything else propagates)."""
    try:
        return decode()
    except RecordError as err:
        return err


def _check_outcome(outcome: list[NodeSamples] | RecordError) -> None:
    if isinstance(outcome, RecordError):
        assert outcome.reason
        assert outcome.detail
    else:
        _check(outcome)


@FUZZ
@given(payload=st.binary(max_size=2048), key=st.one_of(st.none(), st.text(max_size=8)))
def test_otlp_decoder_raises_only_record_error(payload: bytes, key: str | None) -> None:
    _check_outcome(_outcome(lambda: OtlpDecoder(_builder()).decode(payload, key)))


_TEXT_CONTENT = st.sampled_from(
    ["application/openmetrics-text; version=1.0.0", "text/plain; version=0.0.4"]
)
_EXPOSITION_LINE = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda n, k, v, x: f'{n}{{{k}="{v}"}} {x}',
        st.from_regex(r"[a-z_:][a-z0-9_:]{0,10}", fullmatch=True),
        st.from_regex(r"[a-zA-Z_][a-z0-9_]{0,6}", fullmatch=True),
        st.text(max_size=8).filter(lambda s: '"' not in s and "\\" not in s and "\n" not in s),
        st.sampled_from(["1", "-1", "NaN", "+Inf", "-Inf", "1e308", "0x1", "1 99999999999999"]),
    ),
    st.sampled_from(["# TYPE m counter", "# TYPE m gauge", "# HELP m x", "# EOF", "m_total -3"]),
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=512),
        st.lists(_EXPOSITION_LINE, max_size=8).map(lambda ls: ("\n".join(ls) + "\n").encode()),
    ),
    content_type=_TEXT_CONTENT,
    headers=st.dictionaries(
        st.sampled_from(["continuum.node.id", "continuum.tier", "scrape.timestamp_ms"]),
        st.text(max_size=12),
    ),
    key=st.one_of(st.none(), st.text(min_size=1, max_size=8)),
)
def test_text_decoder_raises_only_record_error(
    body: bytes, content_type: str, headers: dict[str, str], key: str | None
) -> None:
    decoder = TextDecoder(_builder())
    _check_outcome(_outcome(lambda: decoder.decode(body, content_type, headers, key)))


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
# Most draws fall inside the window the cleaner accepts, so most examples yield samples.
_ACCEPTED_TIMESTAMPS = st.integers(min_value=NOW_MS - 500_000, max_value=NOW_MS + 50_000)
_TIMESTAMPS = st.one_of(
    _ACCEPTED_TIMESTAMPS,
    _ACCEPTED_TIMESTAMPS,
    _ACCEPTED_TIMESTAMPS,
    st.integers(min_value=NOW_MS - 2 * 3_600_000, max_value=NOW_MS + 2 * 3_600_000),
    st.integers(min_value=0, max_value=(2**64 - 1) // 1_000_000),
)
_KEYS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["a.b", "a_b", "__name__", "", "1x", "node", "le", "cpu.mode", "é"]),
)
_ATTRS = st.dictionaries(
    _KEYS,
    st.one_of(st.text(max_size=8), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.floats()),
    max_size=4,
)
_NAMES = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["system.cpu.utilization", "system.memory.limit", "x_total", "9lives"]),
)
_UNITS = st.sampled_from(["", "1", "s", "ms", "By", "KiBy", "{cpu}", "Cel", "weird/unit"])
_POINTS = st.lists(st.tuples(_TIMESTAMPS, _VALUES, _ATTRS), min_size=1, max_size=4)
_METRICS = st.lists(
    st.tuples(
        st.sampled_from(["gauge", "counter", "updown", "delta", "histogram"]),
        _NAMES,
        _UNITS,
        _POINTS,
    ),
    max_size=4,
)
_RESOURCES = st.lists(
    st.tuples(st.one_of(st.none(), st.text(max_size=6)), _ATTRS, _METRICS), min_size=1, max_size=3
)


def _payload(resources: list[Any]) -> bytes:
    payload = Payload()
    for node, extra, metrics in resources:
        payload.resource(node, extra=extra)
        for kind, name, unit, points in metrics:
            if kind == "gauge":
                payload.gauge(name, points, unit=unit)
            elif kind == "histogram":
                ts_ms, value, _ = points[0]
                counts = [abs(int(v)) % 1000 if math.isfinite(v) else 0 for _, v, _ in points]
                bounds = sorted(float(i) for i in range(len(counts) - 1))
                total = value if isinstance(value, float) else float(value)
                payload.histogram(name, ts_ms, bounds, counts, total, unit=unit)
            else:
                payload.sum(
                    name,
                    points,
                    unit=unit,
                    monotonic=kind != "updown",
                    temporality=DELTA if kind == "delta" else 2,
                )
    return bytes(payload)


@FUZZ
@given(resources=_RESOURCES, key=st.one_of(st.none(), st.text(min_size=1, max_size=6)))
def test_cleaned_otlp_samples_are_always_acceptable_to_prometheus(
    resources: list[Any], key: str | None
) -> None:
    builder = _builder()
    decoder = OtlpDecoder(builder)
    payload = _payload(resources)
    for _ in range(2):  # twice: the second pass meets known series (resets, duplicates)
        outcome = _outcome(lambda: decoder.decode(payload, key))
        if isinstance(outcome, RecordError):
            assert outcome.reason == "missing_identity"
            return
        _check(outcome)


def test_the_validator_itself_rejects_what_prometheus_rejects() -> None:
    good = (("__name__", "up"), ("node", "n1"))
    assert rejection(good, NOW_MS, 1.0) is None
    assert rejection((("node", "n1"), ("__name__", "up")), NOW_MS, 1.0) == "labels not sorted"
    assert rejection((("__name__", "1up"),), NOW_MS, 1.0) is not None
    assert rejection((("__name__", "up"), ("__x", "v")), NOW_MS, 1.0) is not None
    assert rejection((("__name__", "up"), ("a", "")), NOW_MS, 1.0) is not None
    assert rejection(good, NOW_MS, math.nan) == "NaN sample"
    assert rejection(good, NOW_MS + 3_600_000, 1.0) == "timestamp out of bounds"
    assert rejection(good, 0, 1.0) == "timestamp out of bounds"
