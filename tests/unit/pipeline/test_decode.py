"""OTLP and forwarded-text decoding: names, identity, target_info, kinds, whole-record errors."""

from __future__ import annotations

import pytest

from pipeline import RecordError
from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules
from pipeline._otlp import OtlpDecoder
from pipeline._samples import NodeSamples, SampleBuilder
from pipeline._text import TextDecoder
from tests.unit.pipeline.otlp_factory import DELTA, Payload

NOW_MS = 1_800_000_000_000
T = NOW_MS - 1000


def _builder(**rules: object) -> SampleBuilder:
    cleaner = Cleaner(CleaningRules(**rules), clock=lambda: NOW_MS / 1000)  # type: ignore[arg-type]
    return SampleBuilder(cleaner, Aggregator())


def _flat(groups: list[NodeSamples]) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    out: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
    for group in groups:
        for series, ts, value in group.samples:
            out.setdefault(series.labels, []).append((ts, value))
    return out


def _by_name(groups: list[NodeSamples], name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(labels), samples[-1][1])
        for labels, samples in _flat(groups).items()
        if dict(labels)["__name__"] == name
    ]


def test_identity_labels_on_every_series_and_the_rest_in_target_info() -> None:
    payload = (
        Payload()
        .resource("n1", extra={"host.arch": "amd64", "continuum.label.rack": "r1"})
        .gauge("system.cpu.utilization", [(T, 0.5, {"cpu.mode": "idle"})])
    )
    groups = OtlpDecoder(_builder()).decode(bytes(payload), "key-ignored")
    assert [g.node for g in groups] == ["n1"]
    [(labels, _value)] = _by_name(groups, "system_cpu_utilization")
    assert labels == {
        "__name__": "system_cpu_utilization",
        "cpu_mode": "idle",
        "node": "n1",
        "tier": "edge",
        "site": "lab",
    }
    [(info, one)] = _by_name(groups, "target_info")
    assert one == 1.0
    assert info == {
        "__name__": "target_info",
        "node": "n1",
        "tier": "edge",
        "site": "lab",
        "host_name": "h1",
        "host_arch": "amd64",
        "continuum_label_rack": "r1",
    }


def test_container_identity_labels() -> None:
    extra = {
        "container.id": "abc",
        "container.name": "web",
        "k8s.pod.name": "p",
        "k8s.namespace.name": "ns",
    }
    payload = Payload().resource("n1", extra=extra).gauge("container.cpu.usage", [(T, 0.1, {})])
    [(labels, _)] = _by_name(
        OtlpDecoder(_builder()).decode(bytes(payload), None), "container_cpu_usage"
    )
    assert {labels[k] for k in ("container_id", "container", "pod", "namespace")} == {
        "abc",
        "web",
        "p",
        "ns",
    }


def test_record_key_names_the_node_when_the_resource_does_not() -> None:
    payload = Payload().resource(None).gauge("up", [(T, 1, {})])
    assert OtlpDecoder(_builder()).decode(bytes(payload), "from-key")[0].node == "from-key"
    with pytest.raises(RecordError) as err:
        OtlpDecoder(_builder()).decode(bytes(payload), None)
    assert err.value.reason == "missing_identity"


def test_invalid_utf8_in_a_string_field_is_a_record_error() -> None:
    payload = bytes(Payload().resource("n1").gauge("m", [(T, 1, {"k": "vvv"})]))
    with pytest.raises(RecordError) as err:
        OtlpDecoder(_builder()).decode(payload.replace(b"vvv", b"v\xff\xfe"), None)
    assert err.value.reason == "invalid_utf8"


def test_garbage_is_a_record_error() -> None:
    with pytest.raises(RecordError) as err:
        OtlpDecoder(_builder()).decode(b"\xff\xff\xff\x01garbage", None)
    assert err.value.reason in ("decode", "invalid_utf8")


def test_sums_counters_and_gauges() -> None:
    payload = (
        Payload()
        .resource("n1")
        .sum("system.cpu.time", [(T, 10.0, {"cpu.mode": "user"})], unit="s")
        .sum("queue.depth", [(T, 4, {})], unit="{item}", monotonic=False)
        .sum("requests", [(T - 500, 2, {}), (T, 3, {})], unit="1", temporality=DELTA)
    )
    builder = _builder()
    groups = OtlpDecoder(builder).decode(bytes(payload), None)
    assert _by_name(groups, "system_cpu_time_seconds_total")[0][1] == 10.0
    assert _by_name(groups, "queue_depth")[0][1] == 4.0
    # Delta sums are accumulated into a cumulative counter.
    assert _flat(groups)[
        (("__name__", "requests_total"), ("node", "n1"), ("site", "lab"), ("tier", "edge"))
    ] == [
        (T - 500, 2.0),
        (T, 5.0),
    ]
    assert builder.cleaner.adjusted["delta_to_cumulative"] == 2


def test_units_are_normalised_to_base_units() -> None:
    payload = (
        Payload()
        .resource("n1")
        .gauge("probe.rtt", [(T, 250, {})], unit="ms")
        .gauge("disk.free", [(T, 2, {})], unit="KiBy")
    )
    builder = _builder()
    groups = OtlpDecoder(builder).decode(bytes(payload), None)
    assert _by_name(groups, "probe_rtt_seconds")[0][1] == 0.25
    assert _by_name(groups, "disk_free_bytes")[0][1] == 2048.0
    assert builder.cleaner.adjusted["unit_normalised"] == 2


def test_histogram_as_cumulative_buckets() -> None:
    payload = Payload().resource("n1").histogram("rpc.duration", T, [0.1, 1.0], [1, 2, 3], 7.5)
    groups = OtlpDecoder(_builder()).decode(bytes(payload), None)
    buckets = {lab["le"]: v for lab, v in _by_name(groups, "rpc_duration_seconds_bucket")}
    assert buckets == {"0.1": 1.0, "1.0": 3.0, "+Inf": 6.0}
    assert _by_name(groups, "rpc_duration_seconds_count")[0][1] == 6.0
    assert _by_name(groups, "rpc_duration_seconds_sum")[0][1] == 7.5


def test_exponential_histogram_and_summary() -> None:
    payload = Payload().resource("n1")
    exp = payload.raw_metric()
    exp.name, exp.unit = "lat", "s"
    exp.exponential_histogram.aggregation_temporality = 2
    dp = exp.exponential_histogram.data_points.add(
        time_unix_nano=T * 1_000_000, count=6, sum=9.0, scale=0, zero_count=1
    )
    dp.positive.offset = 0
    dp.positive.bucket_counts.extend([2, 3])  # (1, 2] and (2, 4]
    summary = payload.raw_metric()
    summary.name, summary.unit = "rt", "s"
    sdp = summary.summary.data_points.add(time_unix_nano=T * 1_000_000, count=4, sum=2.0)
    sdp.quantile_values.add(quantile=0.5, value=0.4)
    groups = OtlpDecoder(_builder()).decode(bytes(payload), None)
    buckets = {lab["le"]: v for lab, v in _by_name(groups, "lat_seconds_bucket")}
    assert buckets == {"0.0": 1.0, "2.0": 3.0, "4.0": 6.0, "+Inf": 6.0}
    assert _by_name(groups, "rt_seconds")[0] == (
        {"__name__": "rt_seconds", "node": "n1", "tier": "edge", "site": "lab", "quantile": "0.5"},
        0.4,
    )
    assert _by_name(groups, "rt_seconds_count")[0][1] == 4.0


def test_non_string_attributes_render_like_the_exporter() -> None:
    payload = Payload().resource("n1").gauge("m", [(T, 1, {"flag": True, "n": 3, "x": 1.5})])
    [(labels, _)] = _by_name(OtlpDecoder(_builder()).decode(bytes(payload), None), "m")
    assert (labels["flag"], labels["n"], labels["x"]) == ("true", "3", "1.5")


def test_bad_points_are_dropped_and_good_ones_kept() -> None:
    payload = (
        Payload()
        .resource("n1")
        .gauge(
            "g",
            [
                (T, float("nan"), {"i": "1"}),
                (T, 1.0, {"i": "2"}),
                (NOW_MS + 3_600_000, 1.0, {"i": "3"}),
            ],
        )
        .gauge("h", [(T, 1.0, {"a.b": "1", "a_b": "2"})])
    )
    builder = _builder()
    groups = OtlpDecoder(builder).decode(bytes(payload), None)
    assert [lab["i"] for lab, _ in _by_name(groups, "g")] == ["2"]
    assert _by_name(groups, "h") == []
    assert builder.cleaner.dropped == {"non_finite": 1, "future_timestamp": 1, "label_collision": 1}


OPENMETRICS_TEXT = """# TYPE http_requests counter
http_requests_total{code="200",node="other"} 10 1799999999.5
http_requests_created{code="200",node="other"} 1700000000 1799999999.5
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius 21.5
# TYPE lat histogram
lat_bucket{le="1.0"} 1
lat_bucket{le="+Inf"} 2
lat_count 2
lat_sum 1.5
# EOF
"""

HEADERS = {
    "continuum.node.id": "fw-node",
    "continuum.tier": "hpc",
    "continuum.site": "s2",
    "scrape.timestamp_ms": str(NOW_MS - 2000),
    "scrape.target": "http://127.0.0.1:9100/metrics",
}


def test_openmetrics_text_gets_identity_and_scrape_time() -> None:
    builder = _builder()
    groups = TextDecoder(builder).decode(
        OPENMETRICS_TEXT.encode(), "application/openmetrics-text; version=1.0.0", HEADERS, None
    )
    flat = _flat(groups)
    names = {dict(k)["__name__"] for k in flat}
    assert names == {"http_requests_total", "temp_celsius", "lat_bucket", "lat_count", "lat_sum"}
    [(labels, samples)] = [
        (dict(k), v) for k, v in flat.items() if dict(k)["__name__"] == "http_requests_total"
    ]
    assert labels["node"] == "fw-node"
    assert labels["exported_node"] == "other"
    assert labels["tier"] == "hpc"
    assert labels["site"] == "s2"
    assert samples == [(1_799_999_999_500, 10.0)]
    [(_, temp)] = [(k, v) for k, v in flat.items() if dict(k)["__name__"] == "temp_celsius"]
    assert temp == [(NOW_MS - 2000, 21.5)]
    assert builder.cleaner.adjusted["label_renamed"] == 1


def test_classic_text_format() -> None:
    text = '# TYPE up gauge\nup 1\nnode_load1{cpu="x"} 0.5 1799999999000\n'
    groups = TextDecoder(_builder()).decode(
        text.encode(), "text/plain; version=0.0.4", HEADERS, None
    )
    flat = {dict(k)["__name__"]: v for k, v in _flat(groups).items()}
    assert flat == {"up": [(NOW_MS - 2000, 1.0)], "node_load1": [(1_799_999_999_000, 0.5)]}


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"up \xff\xfe 1\n", HEADERS, "invalid_utf8"),
        (b"up{ 1\n", HEADERS, "parse"),
        (b"up 1\n", {}, "missing_identity"),
    ],
)
def test_unusable_text_records(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(RecordError) as err:
        TextDecoder(_builder()).decode(body, "text/plain; version=0.0.4", headers, None)
    assert err.value.reason == reason
