"""OTel-to-Prometheus names: pinned against opentelemetry-exporter-prometheus itself."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules
from pipeline._naming import MetricKind, label_name, map_unit, metric_name, normalise_unit
from pipeline._otlp import OtlpDecoder
from pipeline._samples import SampleBuilder


def _observe(value: float, attrs: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(value, attrs or {})

    return callback


def _instrument_everything(provider: MeterProvider) -> None:
    """The series contract's instruments plus odd names and units."""
    meter = provider.get_meter("pin")
    meter.create_counter("system.cpu.time", unit="s").add(
        3.0, {"cpu.mode": "user", "cpu.logical_number": "0"}
    )
    meter.create_observable_gauge(
        "system.cpu.utilization", callbacks=[_observe(0.5, {"cpu.mode": "idle"})], unit="1"
    )
    meter.create_observable_gauge(
        "continuum.node.logical_cpus", callbacks=[_observe(8)], unit="{cpu}"
    )
    meter.create_observable_gauge(
        "system.memory.usage", callbacks=[_observe(1e9, {"system.memory.state": "used"})], unit="By"
    )
    meter.create_observable_gauge("system.memory.limit", callbacks=[_observe(2e9)], unit="By")
    meter.create_counter("system.network.io", unit="By").add(
        10, {"network.io.direction": "receive", "network.interface.name": "eth0"}
    )
    meter.create_counter("continuum.pressure.stall.time", unit="s").add(
        1.0, {"pressure.resource": "cpu", "pressure.scope": "some"}
    )
    meter.create_observable_gauge("continuum.node.gpus", callbacks=[_observe(0)], unit="{gpu}")
    meter.create_observable_gauge(
        "system.cpu.load_average.1m", callbacks=[_observe(0.3)], unit="{thread}"
    )
    meter.create_up_down_counter("process.open.files", unit="{file}").add(3)
    meter.create_counter("requests_total", unit="1").add(1)
    meter.create_counter("hw.energy", unit="J").add(5)
    meter.create_observable_gauge("hw.temperature", callbacks=[_observe(40.0)], unit="Cel")
    meter.create_observable_gauge("net.speed", callbacks=[_observe(1.0)], unit="By/s")
    meter.create_histogram("probe.rtt", unit="s").record(0.2, {"probe.target": "a"})


def _exporter_names() -> tuple[set[str], set[tuple[str, str]]]:
    registry = CollectorRegistry()
    reader = PrometheusMetricReader(
        disable_target_info=True, scope_info_enabled=False, registry=registry
    )
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({}))
    _instrument_everything(provider)
    text = generate_latest(registry).decode()
    provider.shutdown()
    names, labels = set(), set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            names.add(sample.name)
            labels.update((sample.name, k) for k in sample.labels if k != "le")
    return names, labels


def _pipeline_names() -> tuple[set[str], set[tuple[str, str]]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create(
            {"continuum.node.id": "n1", "continuum.tier": "edge", "continuum.site": "s"}
        ),
    )
    _instrument_everything(provider)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    builder = SampleBuilder(Cleaner(CleaningRules()), Aggregator())
    groups = OtlpDecoder(builder).decode(encode_metrics(data).SerializeToString(), None)
    names, labels = set(), set()
    for group in groups:
        for series, _ts, _value in group.samples:
            labels_map = dict(series.labels)
            name = labels_map.pop("__name__")
            if name == "target_info":
                continue
            names.add(name)
            labels.update((name, k) for k in labels_map if k not in ("node", "tier", "site", "le"))
    return names, labels


def test_names_and_labels_match_the_prometheus_exporter() -> None:
    exporter_names, exporter_labels = _exporter_names()
    names, labels = _pipeline_names()
    assert names == exporter_names
    assert labels == exporter_labels
    assert "system_cpu_time_seconds_total" in names
    assert "system_network_io_bytes_total" in names
    assert "continuum_pressure_stall_time_seconds_total" in names
    assert "continuum_node_logical_cpus" in names
    assert "probe_rtt_seconds_bucket" in names


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("system.cpu.time", "s", MetricKind.COUNTER, "system_cpu_time_seconds_total"),
        ("system.cpu.utilization", "1", MetricKind.GAUGE, "system_cpu_utilization"),
        ("requests_total", "1", MetricKind.COUNTER, "requests_total"),
        ("hw.temperature", "Cel", MetricKind.GAUGE, "hw_temperature_celsius"),
        ("2xx.count", "", MetricKind.GAUGE, "_xx_count"),
        ("link.speed", "By/s", MetricKind.GAUGE, "link_speed_bytes_per_second"),
        ("cpu.count", "{cpu}", MetricKind.GAUGE, "cpu_count"),
    ],
)
def test_metric_name(name: str, unit: str, kind: MetricKind, expected: str) -> None:
    assert metric_name(name, unit, kind) == expected


def test_label_names_and_units() -> None:
    assert label_name("cpu.mode") == "cpu_mode"
    assert label_name("1st.thing") == "_st_thing"
    assert map_unit("{packets}") == ""
    assert normalise_unit("ms") == ("s", 1e-3)
    assert normalise_unit("KiBy") == ("By", 1024.0)
    assert normalise_unit("By") == ("By", 1.0)
