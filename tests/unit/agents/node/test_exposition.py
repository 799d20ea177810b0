"""The names and formats of what the node agent exports, on both paths.

Pins the translated Prometheus names against the catalogue (pull: the live /metrics text; push:
the OTLP records translated as the pipeline does), runs promtool on the text rendering and parses
the OpenMetrics rendering.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
import warnings

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from agents._otel import Agent

with warnings.catch_warnings():
    # The pipeline package imports kafka-python, which uses a deprecated importlib API.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pipeline._naming import MetricKind, metric_name
    from pipeline.catalogue._agent_self import AGENT_SELF_SERIES
    from pipeline.catalogue._node import NODE_SERIES
from tests.unit.agents.otel.fake_kafka import FakeProducer

IDENTITY = {"node", "tier", "site"}


def scrape(agent: Agent, accept: str | None = None) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{agent.server.port}/metrics")
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def catalogued() -> dict:
    return {s.name: s for s in (*NODE_SERIES, *AGENT_SELF_SERIES)}


def test_pull_names_types_and_labels_equal_the_catalogue(
    fixture_agent: tuple[Agent, FakeProducer],
) -> None:
    agent, _ = fixture_agent
    live = {}
    for family in text_string_to_metric_families(scrape(agent)):
        if family.name == "target_info":
            continue
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {k for s in family.samples for k in s.labels}
        assert labels >= IDENTITY, name
        live[name] = (family.type, tuple(sorted(labels - IDENTITY)), family.documentation)
    catalogue = catalogued()
    assert set(live) == set(catalogue)
    for name, (kind, labels, help_text) in live.items():
        series = catalogue[name]
        assert kind == series.type.value, name
        assert labels == tuple(sorted(series.labels)), name
        assert help_text == series.help, name


def test_push_names_equal_the_catalogue(fixture_agent: tuple[Agent, FakeProducer]) -> None:
    agent, producer = fixture_agent
    assert agent.sender is not None
    assert agent.sender.force_flush(5_000)
    record = producer.records[-1]
    assert record.key == b"edge-01"
    assert ("content-type", b"application/x-protobuf") in record.headers
    request = ExportMetricsServiceRequest()
    request.ParseFromString(record.value)
    (rm,) = request.resource_metrics
    resource = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
    assert resource["continuum.node.id"] == "edge-01"
    assert resource["continuum.tier"] == "edge"
    assert resource["continuum.label.rack"] == "r1"
    pushed = set()
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            kind = (
                MetricKind.COUNTER
                if metric.WhichOneof("data") == "sum" and metric.sum.is_monotonic
                else MetricKind.GAUGE
            )
            pushed.add(metric_name(metric.name, metric.unit, kind))
    assert pushed == set(catalogued())


def test_contract_instruments_are_present(fixture_agent: tuple[Agent, FakeProducer]) -> None:
    agent, _ = fixture_agent
    text = scrape(agent)
    for name in (
        "system_cpu_time_seconds_total",
        "system_cpu_utilization",
        "continuum_node_logical_cpus",
        "system_memory_usage_bytes",
        "system_memory_limit_bytes",
        "system_linux_memory_available_bytes",
        "system_network_io_bytes_total",
        "continuum_pressure_stall_time_seconds_total",
        "continuum_node_gpus",
        "system_cpu_load_average_1m",
        "system_cpu_load_average_5m",
        "system_cpu_load_average_15m",
    ):
        assert f"\n{name}{{" in text, name
    assert (
        'system_cpu_utilization{cpu_mode="user",node="edge-01",site="lab",tier="edge"} 0.3' in text
    )
    assert 'target_info{continuum_label_rack="r1"' in text
    assert "otel_scope" not in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_finds_nothing_to_complain_about(
    fixture_agent: tuple[Agent, FakeProducer],
) -> None:
    agent, _ = fixture_agent
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=scrape(agent),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_openmetrics_rendering_parses(fixture_agent: tuple[Agent, FakeProducer]) -> None:
    agent, _ = fixture_agent
    text = scrape(agent, "application/openmetrics-text; version=1.0.0")
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in om_parse(text)}
    assert families["target"].type == "info"
    assert families["system_cpu_time_seconds"].type == "counter"
    assert families["system_memory_usage_bytes"].unit == "bytes"


def test_pull_and_push_carry_the_same_values(fixture_agent: tuple[Agent, FakeProducer]) -> None:
    agent, producer = fixture_agent
    assert agent.sender is not None
    assert agent.sender.force_flush(5_000)
    request = ExportMetricsServiceRequest()
    request.ParseFromString(producer.records[-1].value)
    pushed = {
        (
            m.name,
            tuple(sorted((kv.key, kv.value.string_value) for kv in dp.attributes)),
        ): dp.as_double
        for sm in request.resource_metrics[0].scope_metrics
        for m in sm.metrics
        if m.WhichOneof("data") == "gauge"
        for dp in m.gauge.data_points
    }
    pulled = {
        s.name: s.value
        for f in text_string_to_metric_families(scrape(agent))
        for s in f.samples
        if f.name == "system_memory_limit_bytes"
        or (f.name == "system_cpu_utilization" and s.labels["cpu_mode"] == "user")
    }
    assert pulled["system_memory_limit_bytes"] == pushed[("system.memory.limit", ())]
    assert (
        pulled["system_cpu_utilization"]
        == pushed[("system.cpu.utilization", (("cpu.mode", "user"),))]
    )
