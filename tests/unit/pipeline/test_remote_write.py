"""The hand-written remote-write encoder: golden bytes and a round trip through protobuf."""

from __future__ import annotations

import math

import cramjam
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from pipeline._remote_write import (
    RemoteWriteEncoder,
    SeriesRef,
    encode_labels,
    encode_varint,
    snappy_block,
)


def _prompb() -> type:
    """``prometheus.WriteRequest`` built from a descriptor equivalent to prompb's .proto."""
    f = descriptor_pb2.FileDescriptorProto(name="prompb_test.proto", package="prompb_test")
    f.syntax = "proto3"
    fd = descriptor_pb2.FieldDescriptorProto
    label = f.message_type.add(name="Label")
    label.field.add(name="name", number=1, type=fd.TYPE_STRING, label=fd.LABEL_OPTIONAL)
    label.field.add(name="value", number=2, type=fd.TYPE_STRING, label=fd.LABEL_OPTIONAL)
    sample = f.message_type.add(name="Sample")
    sample.field.add(name="value", number=1, type=fd.TYPE_DOUBLE, label=fd.LABEL_OPTIONAL)
    sample.field.add(name="timestamp", number=2, type=fd.TYPE_INT64, label=fd.LABEL_OPTIONAL)
    ts = f.message_type.add(name="TimeSeries")
    ts.field.add(
        name="labels",
        number=1,
        type=fd.TYPE_MESSAGE,
        type_name=".prompb_test.Label",
        label=fd.LABEL_REPEATED,
    )
    ts.field.add(
        name="samples",
        number=2,
        type=fd.TYPE_MESSAGE,
        type_name=".prompb_test.Sample",
        label=fd.LABEL_REPEATED,
    )
    wr = f.message_type.add(name="WriteRequest")
    wr.field.add(
        name="timeseries",
        number=1,
        type=fd.TYPE_MESSAGE,
        type_name=".prompb_test.TimeSeries",
        label=fd.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prompb_test.WriteRequest"))


WriteRequest = _prompb()
UP = (("__name__", "up"), ("node", "n1"))


def test_golden_bytes_of_one_sample() -> None:
    body = RemoteWriteEncoder().encode_pairs([(SeriesRef(UP), 1_700_000_000_000, 1.0)])
    expected = bytes.fromhex(
        "0a2e"  # timeseries, 46 bytes
        "0a0e0a085f5f6e616d655f5f12027570"  # label __name__="up"
        "0a0a0a046e6f646512026e31"  # label node="n1"
        "1210"  # sample, 16 bytes
        "09000000000000f03f"  # value 1.0 (little-endian double)
        "1080d095ffbc31"  # timestamp 1700000000000 (varint)
    )
    reference = WriteRequest()
    series = reference.timeseries.add()
    series.labels.add(name="__name__", value="up")
    series.labels.add(name="node", value="n1")
    series.samples.add(value=1.0, timestamp=1_700_000_000_000)
    assert reference.SerializeToString() == expected
    assert body == expected


def test_round_trip_through_protobuf() -> None:
    encoder = RemoteWriteEncoder()
    a = SeriesRef((("__name__", "m"), ("mode", "idle"), ("node", "n1")))
    b = SeriesRef((("__name__", "m_total"), ("node", "ünïcode")))
    samples = [
        (a, 1_700_000_000_000, 0.25),
        (b, 1_700_000_000_500, 1e300),
        (a, 1_700_000_001_000, -math.inf),
        (b, 5, 3.0),  # a short timestamp takes the general path
        (a, -1, 2.0),  # int64 two's complement
    ]
    decoded = WriteRequest()
    decoded.ParseFromString(encoder.encode_pairs(samples))
    got = [
        (
            tuple((lb.name, lb.value) for lb in ts.labels),
            ts.samples[0].timestamp,
            ts.samples[0].value,
        )
        for ts in decoded.timeseries
    ]
    assert got == [(s.labels, t, v) for s, t, v in samples]


def test_grouped_encoding_matches_protobuf_serialisation() -> None:
    series = {UP: [(1000, 1.0), (2000, 0.0)], (("__name__", "x"),): [(3000, 7.5)]}
    expected = WriteRequest()
    for labels, samples in series.items():
        ts = expected.timeseries.add()
        for name, value in labels:
            ts.labels.add(name=name, value=value)
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
    # Protobuf leaves out zero values; both encodings are valid and must decode the same.
    decoded = WriteRequest()
    decoded.ParseFromString(RemoteWriteEncoder().encode(series))
    assert decoded == expected


def test_label_cache_is_bounded() -> None:
    encoder = RemoteWriteEncoder(max_cached_series=2)
    for i in range(5):
        labels = (("__name__", f"m{i}"),)
        assert encoder.labels_bytes(labels) == encode_labels(labels)
    assert len(encoder._labels) <= 2


@pytest.mark.parametrize(
    ("value", "encoded"), [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02")]
)
def test_varint(value: int, encoded: str) -> None:
    assert encode_varint(value) == bytes.fromhex(encoded)


def test_snappy_is_the_raw_block_format() -> None:
    body = RemoteWriteEncoder().encode_pairs([(SeriesRef(UP), 1_700_000_000_000, 1.0)])
    assert bytes(cramjam.snappy.decompress_raw(snappy_block(body))) == body
