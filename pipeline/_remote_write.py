"""Prometheus remote write 1.0 encoding, written straight to bytes.

The wire format is three small protobuf messages (``prompb``)::

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }

Building protobuf objects costs more than the whole rest of the pipeline (docs/platform.md), so
series labels are encoded once and cached, and each request is one ``bytes.join``::

    encoder = RemoteWriteEncoder()
    body = encoder.encode({series: [(ts_ms, value)]})
    compressed = snappy_block(body)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

import cramjam

__all__ = [
    "REMOTE_WRITE_HEADERS",
    "RemoteWriteEncoder",
    "SeriesKey",
    "SeriesRef",
    "encode_labels",
    "encode_varint",
    "snappy_block",
]

#: A series identity: ``(name, value)`` label pairs sorted by name, ``__name__`` included.
SeriesKey = tuple[tuple[str, str], ...]


class SeriesRef:
    """One series, interned: the same object for the same labels while it is tracked.

    Hashing a nested label tuple costs more than the rest of a sample's handling, so the hot
    path passes these around and keeps per-series state on them instead of in dicts.

    Attributes:
        labels: the series key.
        node: the node the series belongs to.
        ts_ms: newest timestamp accepted (0 before the first).
        value: value at ``ts_ms``.
        tracked: counted against its node's series limit.
        prefix: encoded ``TimeSeries`` head for one sample (set by the encoder).
        record: the cleaner's number of the last record that held this series.
        record_ts: timestamps accepted for it in that record (an int while there is one).
    """

    __slots__ = ("labels", "node", "prefix", "record", "record_ts", "tracked", "ts_ms", "value")

    def __init__(self, labels: SeriesKey, node: str = ""):
        self.labels = labels
        self.node = node
        self.ts_ms = 0
        self.value = 0.0
        self.tracked = False
        self.prefix: bytes | None = None
        self.record = -1
        self.record_ts: int | set[int] = 0

    def __repr__(self) -> str:
        return f"SeriesRef({self.labels!r})"


#: Headers every remote-write 1.0 request carries.
REMOTE_WRITE_HEADERS: dict[str, str] = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "continuum-pipeline/0.1",
}

_DOUBLE = struct.Struct("<d")
_SAMPLE_VALUE_TAG = b"\x09"  # field 1, wire type 1 (64-bit)
_SAMPLE_TS_TAG = b"\x10"  # field 2, wire type 0 (varint)
_LEN_TAG_1 = b"\x0a"  # field 1, length-delimited
_LEN_TAG_2 = b"\x12"  # field 2, length-delimited
# Varints below 128 are one byte; precomputing them skips the loop for every short length.
_SMALL_VARINTS = [bytes([i]) for i in range(128)]
# A Sample with a six-byte timestamp varint: value tag + 8 + timestamp tag + 6 = 16 bytes.
_ONE_SAMPLE_SIZE = 2 + 16
_ONE_SAMPLE_HEAD = b"\x12\x10" + _SAMPLE_VALUE_TAG


def encode_varint(value: int) -> bytes:
    """Encode a non-negative int (or an int64 as two's complement) as a protobuf varint."""
    if 0 <= value < 128:
        return _SMALL_VARINTS[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + encode_varint(len(payload)) + payload


def encode_labels(labels: SeriesKey) -> bytes:
    """Encode the repeated ``Label`` field of a ``TimeSeries`` (labels must be sorted)."""
    parts = []
    for name, value in labels:
        body = _field(_LEN_TAG_1, name.encode()) + _field(_LEN_TAG_2, value.encode())
        parts.append(_field(_LEN_TAG_1, body))
    return b"".join(parts)


def _encode_sample(timestamp_ms: int, value: float) -> bytes:
    body = _SAMPLE_VALUE_TAG + _DOUBLE.pack(value) + _SAMPLE_TS_TAG + encode_varint(timestamp_ms)
    return _LEN_TAG_2 + encode_varint(len(body)) + body


class RemoteWriteEncoder:
    """Encodes ``WriteRequest`` bodies, caching each series' encoded labels.

    Args:
        max_cached_series: bound on the label cache; it is cleared when full, so memory stays
            bounded under series churn while steady fleets hit the cache.
    """

    def __init__(self, max_cached_series: int = 500_000):
        self._labels: dict[SeriesKey, bytes] = {}
        self._max_cached_series = max_cached_series

    def labels_bytes(self, series: SeriesKey) -> bytes:
        """Return the encoded labels of ``series``, from the cache when possible."""
        cached = self._labels.get(series)
        if cached is None:
            if len(self._labels) >= self._max_cached_series:
                self._labels.clear()
            cached = encode_labels(series)
            self._labels[series] = cached
        return cached

    def encode(self, series_samples: Mapping[SeriesKey, Sequence[tuple[int, float]]]) -> bytes:
        """Encode a ``WriteRequest`` holding each series with its samples in the given order."""
        parts: list[bytes] = []
        append = parts.append
        for series, samples in series_samples.items():
            body = self.labels_bytes(series) + b"".join(
                _encode_sample(ts, value) for ts, value in samples
            )
            append(_LEN_TAG_1)
            append(encode_varint(len(body)))
            append(body)
        return b"".join(parts)

    def encode_pairs(self, samples: Iterable[tuple[SeriesRef, int, float]]) -> bytes:
        """Encode one ``TimeSeries`` per ``(series, timestamp_ms, value)`` triple, in order."""
        parts: list[bytes] = []
        append = parts.append
        pack = _DOUBLE.pack
        last_ts = -1
        tail = b""
        for series, ts, value in samples:
            if ts != last_ts:
                last_ts = ts
                tail = _SAMPLE_TS_TAG + encode_varint(ts)
            if len(tail) != 7:  # not a six-byte timestamp: the general path
                body = encode_labels(series.labels) + _encode_sample(ts, value)
                append(_LEN_TAG_1 + encode_varint(len(body)) + body)
                continue
            prefix = series.prefix
            if prefix is None:
                labels = encode_labels(series.labels)
                prefix = _LEN_TAG_1 + encode_varint(len(labels) + _ONE_SAMPLE_SIZE) + labels
                series.prefix = prefix
            append(prefix)
            append(_ONE_SAMPLE_HEAD)
            append(pack(value))
            append(tail)
        return b"".join(parts)


def snappy_block(body: bytes) -> bytes:
    """Compress with snappy's raw block format (framed is rejected with 400, docs/platform.md)."""
    return bytes(cramjam.snappy.compress_raw(body))
