"""The agents' own conversions give what the OpenTelemetry SDK gave, byte for byte where it counts.

The same snapshots go through a stock SDK (observable instruments, the Prometheus reader, the OTLP
encoder) and through :class:`SnapshotCollector` and :class:`OtlpEncoder`: the Prometheus text and
OpenMetrics renderings carry the same lines, and the OTLP requests the same messages (apart from
timestamps, which each side takes from its own clock, and the order of metrics, which the SDK
gives by first appearance).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource as SdkResource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from agents._otel import (
    InstrumentKind,
    InstrumentSpec,
    OtlpEncoder,
    Reading,
    ReadingBoard,
    Resource,
    SnapshotCollector,
)

G, C, U = InstrumentKind.GAUGE, InstrumentKind.COUNTER, InstrumentKind.UP_DOWN_COUNTER
SPECS = (
    InstrumentSpec("system.cpu.time", C, "s", "CPU time by mode."),
    InstrumentSpec("system.cpu.utilization", G, "1", "Share of CPU time."),
    InstrumentSpec("continuum.node.logical_cpus", G, "{cpu}", "Logical CPUs."),
    InstrumentSpec("system.memory.usage", G, "By", "Memory in use."),
    InstrumentSpec("process.open.files", U, "{file}", "Open files."),
    InstrumentSpec("requests_total", C, "1", "Requests served."),
    InstrumentSpec("hw.energy", C, "J", "Energy used."),
    InstrumentSpec("hw.temperature", G, "Cel", "Temperature."),
    InstrumentSpec("net.speed", G, "By/s", "Link speed."),
    InstrumentSpec("never.reported", G, "s", "No collector reports this."),
)
RESOURCE = {"continuum.node.id": "n1", "continuum.tier": "edge", "host.name": "h"}
SCOPE = "continuum.agents.test"

FIRST: dict[str, list[Reading]] = {
    "system.cpu.time": [
        Reading("system.cpu.time", 3.5, {"cpu.mode": "user", "cpu.logical_number": 0}),
        Reading("system.cpu.time", 7, {"cpu.mode": "idle", "cpu.logical_number": 1}),
    ],
    "system.cpu.utilization": [Reading("system.cpu.utilization", 0.25, {"cpu.mode": "user"})],
    "continuum.node.logical_cpus": [Reading("continuum.node.logical_cpus", 8)],
    "system.memory.usage": [
        Reading("system.memory.usage", 1e9, {"system.memory.state": "used"}),
        # A sibling without an attribute the others have: Prometheus gets it empty.
        Reading("system.memory.usage", 2e9, {"system.memory.state": "free", "1st.zone": "a"}),
    ],
    "process.open.files": [Reading("process.open.files", 3)],
    "requests_total": [Reading("requests_total", 1)],
    "hw.energy": [Reading("hw.energy", 5.25, {"hw.id": "psu0"})],
    "hw.temperature": [Reading("hw.temperature", 40.5, {"hw.id": "cpu0", "sensor.scale": 1.5})],
    "net.speed": [Reading("net.speed", 1.25e8, {"network.interface.name": "eth0"})],
}
# A series vanishes, one appears, an instrument comes and one goes.
SECOND: dict[str, list[Reading]] = {
    **FIRST,
    "system.cpu.time": [
        Reading("system.cpu.time", 4.0, {"cpu.mode": "user", "cpu.logical_number": 0}),
        Reading("system.cpu.time", 1, {"cpu.mode": "system", "cpu.logical_number": 0}),
    ],
    "hw.energy": [],
}
del SECOND["net.speed"]


class Sdk:
    """The conversion the agents used to do: observable instruments read by two SDK readers."""

    def __init__(self) -> None:
        self.current: Mapping[str, Sequence[Reading]] = {}
        self.prometheus = CollectorRegistry(auto_describe=False)
        self.otlp = InMemoryMetricReader()
        self.provider = MeterProvider(
            resource=SdkResource(RESOURCE),
            metric_readers=[
                PrometheusMetricReader(
                    disable_target_info=True, scope_info_enabled=False, registry=self.prometheus
                ),
                self.otlp,
            ],
            shutdown_on_exit=False,
        )
        meter = self.provider.get_meter(SCOPE)
        create = {
            G: meter.create_observable_gauge,
            C: meter.create_observable_counter,
            U: meter.create_observable_up_down_counter,
        }
        for spec in SPECS:
            create[spec.kind](spec.name, [self._observe(spec.name)], spec.unit, spec.description)

    def _observe(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(r.value, dict(r.attributes)) for r in self.current.get(name, ())]

        return observe

    def request(self) -> ExportMetricsServiceRequest:
        data = self.otlp.get_metrics_data()
        assert data is not None
        return encode_metrics(data)


def ours() -> tuple[ReadingBoard, CollectorRegistry, OtlpEncoder]:
    board = ReadingBoard(SPECS)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(board, {}, Resource({})))
    return board, registry, OtlpEncoder(Resource(RESOURCE), SCOPE, board.specs)


TARGET_INFO = re.compile(r"^(# [A-Z]+ )?target(_info)?[ {]")


def lines(exposition: bytes) -> list[str]:
    # Families come in a different order; target_info is ours alone (the SDK's was disabled).
    return sorted(x for x in exposition.decode().splitlines() if not TARGET_INFO.match(x))


def without_times(request: ExportMetricsServiceRequest) -> ExportMetricsServiceRequest:
    normal = ExportMetricsServiceRequest()
    normal.CopyFrom(request)
    scope = normal.resource_metrics[0].scope_metrics[0]
    metrics = sorted(scope.metrics, key=lambda m: m.name)
    for metric in metrics:
        for point in getattr(metric, metric.WhichOneof("data")).data_points:
            point.time_unix_nano = point.start_time_unix_nano = 0
    del scope.metrics[:]
    scope.metrics.extend(metrics)
    return normal


@pytest.fixture
def sdk() -> Iterable[Sdk]:
    converter = Sdk()
    yield converter
    converter.provider.shutdown()


def test_prometheus_renderings_equal_the_sdk_exporters(sdk: Sdk) -> None:
    board, registry, _ = ours()
    for readings in (FIRST, SECOND):
        sdk.current = readings
        board.publish(readings)
        assert lines(generate_latest(registry)) == lines(generate_latest(sdk.prometheus))
        assert lines(generate_openmetrics(registry)) == lines(generate_openmetrics(sdk.prometheus))
    text = generate_latest(registry).decode()
    assert 'system_memory_usage_bytes{_st_zone="",system_memory_state="used"} 1e+09' in text
    assert "# TYPE process_open_files gauge" in text
    assert "requests_total 1.0" in text
    assert "never_reported" not in text


def test_otlp_requests_equal_the_sdk_encoders(sdk: Sdk) -> None:
    board, _, encoder = ours()
    for readings in (FIRST, SECOND):
        sdk.current = readings
        request = encoder.encode(board.publish(readings))
        assert without_times(request) == without_times(sdk.request())
        names = [m.name for m in request.resource_metrics[0].scope_metrics[0].metrics]
        assert "never.reported" not in names
