"""Record templates: a matching record decodes exactly as a full decode would, or not at all."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.resource.v1 import resource_pb2

from pipeline import RecordError
from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules
from pipeline._otlp import OtlpDecoder
from pipeline._remote_write import encode_varint
from pipeline._samples import NodeSamples, SampleBuilder
from pipeline._template import TemplateCache, scan_number_points
from tests.unit.pipeline.otlp_factory import DELTA, Payload, kv, node_payload

NOW_MS = 1_800_000_000_000


def _decoder(templates: TemplateCache | None = None) -> OtlpDecoder:
    cleaner = Cleaner(CleaningRules(deny=("denied_.*",)), clock=lambda: NOW_MS / 1000)
    return OtlpDecoder(SampleBuilder(cleaner, Aggregator()), templates)


def _never_templating() -> OtlpDecoder:
    return _decoder(TemplateCache(max_memory_bytes=0))


def _rich_payload(ts_ms: int, step: int, cpu_mode: str = "user") -> bytes:
    """Every shape a template carries: gauges, sums of each kind, ints, scaled units, drops."""
    payload = (
        Payload()
        .resource("n1")
        .gauge(
            "system.cpu.utilization",
            [
                (ts_ms, 0.5 + step / 100, {"cpu.mode": "idle"}),
                (ts_ms, 0.25, {"cpu.mode": cpu_mode}),
            ],
        )
        .gauge("system.cpu.logical.count", [(ts_ms, 8 + step, {})], unit="{cpu}")
        .gauge("continuum.probe.rtt", [(ts_ms, 12.5 * step, {"target": "t1"})], unit="ms")
        .gauge("denied.metric", [(ts_ms, 1.0, {})])
        .sum("system.network.io", [(ts_ms, 1000 * step, {"network.io.direction": "receive"})], "By")
        .sum("continuum.requests", [(ts_ms, 3, {})], temporality=DELTA)
        .sum("continuum.queue.depth", [(ts_ms, 5 - step, {})], monotonic=False)
    )
    no_value = payload.request.resource_metrics[0].scope_metrics[0].metrics[0]
    no_value.gauge.data_points.add(time_unix_nano=ts_ms * 1_000_000, flags=1, as_double=7.0)
    payload.resource(None, tier="cloud").gauge("system.memory.limit", [(ts_ms, 2**34, {})], "By")
    return bytes(payload)


def _observed(
    groups: list[NodeSamples],
) -> list[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]], int]]:
    return [
        (
            g.node,
            [(s.labels, ts, v) for s, ts, v in g.samples],
            [(s.labels, ts, v) for s, ts, v in g.aggregates],
            g.newest_ts_ms,
        )
        for g in groups
    ]


def test_steady_records_decode_from_a_template_exactly_as_in_full() -> None:
    templated, full = _decoder(), _never_templating()
    for step in range(6):
        payload = _rich_payload(NOW_MS - 60_000 + step * 10_000, step)
        got = templated.decode(payload, "key-1")
        assert _observed(got) == _observed(full.decode(payload, "key-1"))
        for group in got:  # the samples carry the cleaner's own series objects
            for series, _ts, _value in group.samples:
                assert templated.builder.cleaner.intern(series.labels, group.node) is series
    # The first record is a first sighting, the second builds the template, the rest match.
    assert templated.templates.matched_records == 4
    assert full.templates.matched_records == 0
    # The worker exposes these as continuum_pipeline_otlp_records_decoded_total{path}.
    assert templated.decoded == {"template": 4, "full": 2}
    assert full.decoded == {"template": 0, "full": 6}
    assert templated.builder.cleaner.dropped == full.builder.cleaner.dropped
    assert templated.builder.cleaner.adjusted == full.builder.cleaner.adjusted
    assert {"denied", "duplicate_sample"} & set(full.builder.cleaner.dropped) == {"denied"}
    assert set(full.builder.cleaner.adjusted) >= {"unit_normalised", "delta_to_cumulative"}


def test_repeated_timestamps_are_still_duplicates_through_a_template() -> None:
    templated, full = _decoder(), _never_templating()
    payloads = [_rich_payload(NOW_MS - 60_000 + s * 10_000, s) for s in range(3)]
    for payload in [*payloads, payloads[-1]]:
        assert _observed(templated.decode(payload, "k")) == _observed(full.decode(payload, "k"))
    assert templated.templates.matched_records == 2
    assert templated.builder.cleaner.dropped == full.builder.cleaner.dropped
    assert full.builder.cleaner.dropped["duplicate_sample"] > 0


def test_a_changed_attribute_of_the_same_length_is_decoded_in_full() -> None:
    decoder = _decoder()
    for step in range(3):
        decoder.decode(_rich_payload(NOW_MS - 60_000 + step * 10_000, step, "user"), "k")
    assert decoder.templates.matched_records == 1
    changed = _rich_payload(NOW_MS - 20_000, 4, "nice")
    groups = decoder.decode(changed, "k")
    assert len(changed) == len(_rich_payload(NOW_MS - 20_000, 4, "user"))
    assert decoder.templates.matched_records == 1
    modes = {dict(s.labels).get("cpu_mode") for g in groups for s, _t, _v in g.samples}
    assert "nice" in modes
    assert "user" not in modes


def test_forgotten_series_drop_every_template() -> None:
    decoder = _decoder()
    for step in range(3):
        decoder.decode(_rich_payload(NOW_MS - 60_000 + step * 10_000, step), "k")
    assert decoder.templates.matched_records == 1
    cleaner = decoder.builder.cleaner
    assert cleaner.expire(NOW_MS + 10**9) > 0
    decoder.builder.clear_cache()
    groups = decoder.decode(_rich_payload(NOW_MS - 20_000, 4), "k")
    assert decoder.templates.matched_records == 1
    assert len(decoder.templates) == 0
    for group in groups:
        for series, _ts, _value in group.samples:
            assert cleaner.intern(series.labels, group.node) is series
            assert series.tracked


def test_records_without_a_key_are_never_templated() -> None:
    decoder = _decoder()
    for step in range(3):
        assert decoder.decode(node_payload("n1", NOW_MS - 60_000 + step * 10_000), None)
    assert decoder.templates.matched_records == 0


def _len_field(number: int, body: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(body)) + body


def _hand_encoded(point: bytes) -> bytes:
    """A request of one gauge point given as raw NumberDataPoint bytes."""
    resource = resource_pb2.Resource(attributes=[kv("continuum.node.id", "n1")])
    metric = _len_field(1, b"hand.made") + _len_field(5, _len_field(1, point))
    scope = _len_field(2, metric)
    return _len_field(1, _len_field(1, resource.SerializeToString()) + _len_field(2, scope))


def _fixed64(number: int, value: int) -> bytes:
    return encode_varint(number << 3 | 1) + struct.pack("<Q", value)


def _double(value: float) -> bytes:
    return b"\x21" + struct.pack("<d", value)


def _histogram(ts_ms: int) -> bytes:
    payload = Payload().resource("n1").histogram("h", ts_ms, [1.0], [1, 2], 3.0)
    return bytes(payload)


def _exemplar(ts_ms: int) -> bytes:
    payload = Payload().resource("n1").gauge("g", [(ts_ms, 1.0, {})])
    point = payload.request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    point.exemplars.add(time_unix_nano=ts_ms * 1_000_000, as_double=2.0)
    return bytes(payload)


@pytest.mark.parametrize(
    "make",
    [
        _histogram,
        _exemplar,
        # The time field twice: protobuf keeps the last one.
        lambda ts: _hand_encoded(
            _fixed64(3, (ts - 5000) * 1_000_000) + _fixed64(3, ts * 1_000_000) + _double(1.0)
        ),
        # Both value fields of the oneof: the last one wins.
        lambda ts: _hand_encoded(_fixed64(3, ts * 1_000_000) + _double(1.0) + _fixed64(6, 9)),
        # No value at all.
        lambda ts: _hand_encoded(_fixed64(3, ts * 1_000_000)),
    ],
    ids=["histogram", "exemplar", "time_twice", "both_values", "no_value"],
)
def test_records_a_template_cannot_stand_for_are_decoded_in_full(make: Any) -> None:
    templated, full = _decoder(), _never_templating()
    for step in range(4):
        payload = make(NOW_MS - 60_000 + step * 10_000)
        assert scan_number_points(payload) is None
        assert _observed(templated.decode(payload, "k")) == _observed(full.decode(payload, "k"))
    assert templated.templates.matched_records == 0
    assert len(templated.templates) == 0


def test_hand_encoded_points_in_unusual_field_order_match() -> None:
    # Value before time, and an int value: the layout follows the bytes, not the field numbers.
    templated, full = _decoder(), _never_templating()
    for step in range(4):
        ts = NOW_MS - 60_000 + step * 10_000
        point = encode_varint(6 << 3 | 1) + struct.pack("<q", -step) + _fixed64(3, ts * 1_000_000)
        payload = _hand_encoded(point)
        assert _observed(templated.decode(payload, "k")) == _observed(full.decode(payload, "k"))
    assert templated.templates.matched_records == 2


@pytest.mark.parametrize("garbage", [b"", b"\xff", b"\x0a\x05ab", b"\x0b\x0c", bytes(range(40))])
def test_scanning_garbage_finds_nothing_to_template(garbage: bytes) -> None:
    assert not scan_number_points(garbage)


def test_templates_are_bounded_in_count_and_memory() -> None:
    counted = _decoder(TemplateCache(max_templates=2))
    sized = _decoder(TemplateCache(max_memory_bytes=1))  # room for one template
    for step in range(3):
        ts = NOW_MS - 60_000 + step * 10_000
        for node in ("a", "b", "c"):
            counted.decode(_rich_payload(ts, step), node)
            sized.decode(_rich_payload(ts, step), node)
            assert len(counted.templates) <= 2
            assert len(sized.templates) <= 1
    assert sized.templates.matched_records == 1
    # The one template held is several times the record: its layout, invariant bytes, plans.
    assert sized.templates.memory_bytes > 2 * len(_rich_payload(NOW_MS, 1))
    sized.templates.clear()
    assert sized.templates.memory_bytes == 0


def _decode_or_reason(decoder: OtlpDecoder, payload: bytes) -> object:
    try:
        return _observed(decoder.decode(payload, "k"))
    except RecordError as err:
        return err.reason


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_any_byte_changed_in_a_steady_record_decodes_as_in_full(
    changes: list[tuple[int, int]],
) -> None:
    templated, full = _decoder(), _never_templating()
    for step in range(3):
        payload = _rich_payload(NOW_MS - 60_000 + step * 10_000, step)
        assert _decode_or_reason(templated, payload) == _decode_or_reason(full, payload)
    mutated = bytearray(_rich_payload(NOW_MS - 20_000, 4))
    for position, byte in changes:
        mutated[position % len(mutated)] = byte
    assert _decode_or_reason(templated, bytes(mutated)) == _decode_or_reason(full, bytes(mutated))
    assert templated.builder.cleaner.dropped == full.builder.cleaner.dropped
    assert templated.builder.cleaner.adjusted == full.builder.cleaner.adjusted
