"""The pull path is the SDK's Prometheus reader; pinned here is only where it differs by choice.

Family names, types, units and label translation are the exporter's own. The one difference is
the identity (docs/contracts.md §3.1): ``node``, ``tier`` and ``site`` on every series, as the
pipeline gives them on the push path, and not under the exporter's raw names on ``target_info``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.prometheus._mapping import sanitize_attribute
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from agents._otel import (
    IDENTITY_ATTRIBUTES,
    InstrumentKind,
    InstrumentSpec,
    PrometheusPull,
    Reading,
    ReadingBoard,
    SnapshotMeter,
)
from agents._otel import Resource as AgentResource
from agents._otel._prometheus import _RAW_IDENTITY_LABELS

G, C, U = InstrumentKind.GAUGE, InstrumentKind.COUNTER, InstrumentKind.UP_DOWN_COUNTER
SPECS = (
    InstrumentSpec("system.cpu.time", C, "s", "CPU time by mode."),
    InstrumentSpec("system.memory.usage", G, "By", "Memory in use."),
    InstrumentSpec("process.open.files", U, "{file}", "Open files."),
    InstrumentSpec("hw.temperature", G, "Cel", "Temperature."),
    InstrumentSpec("never.reported", G, "s", "No collector reports this."),
)
LABELS = {"node": "n1", "tier": "edge", "site": "lab"}
RESOURCE = {
    "continuum.node.id": "n1",
    "continuum.tier": "edge",
    "continuum.site": "lab",
    "host.name": "h1",
}
READINGS = {
    "system.cpu.time": [
        Reading("system.cpu.time", 3.5, {"cpu.mode": "user", "cpu.logical_number": 0}),
    ],
    "system.memory.usage": [
        Reading("system.memory.usage", 1e9, {"system.memory.state": "used"}),
        # A sibling without an attribute the others have: Prometheus gets it empty.
        Reading("system.memory.usage", 2e9, {"system.memory.state": "free", "1st.zone": "a"}),
    ],
    "process.open.files": [Reading("process.open.files", 3)],
    # An attribute that translates to an identity label loses to the identity.
    "hw.temperature": [Reading("hw.temperature", 40.5, {"node": "elsewhere", "hw.id": "cpu0"})],
}


@pytest.fixture
def pull() -> Iterator[PrometheusPull]:
    board = ReadingBoard(SPECS)
    pull = PrometheusPull(LABELS)
    meter = SnapshotMeter(board, AgentResource(RESOURCE), "continuum.agents.x", [pull.reader])
    board.publish(READINGS)
    yield pull
    meter.shutdown()


def samples(text: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(dict(sample.labels))
    return out


def test_every_series_carries_the_identity(pull: PrometheusPull) -> None:
    text = generate_latest(pull.registry).decode()
    for name, rows in samples(text).items():
        for labels in rows:
            assert {k: labels.get(k) for k in LABELS} == LABELS, name
    (temperature,) = samples(text)["hw_temperature_celsius"]
    assert temperature["node"] == "n1"


def test_target_info_holds_the_rest_of_the_resource(pull: PrometheusPull) -> None:
    (info,) = samples(generate_latest(pull.registry).decode())["target_info"]
    assert info == {**LABELS, "host_name": "h1"}


def test_names_and_types_are_the_exporters(pull: PrometheusPull) -> None:
    text = generate_latest(pull.registry).decode()
    assert "# TYPE system_cpu_time_seconds_total counter" in text
    assert "# TYPE process_open_files gauge" in text  # a cumulative non-monotonic sum
    assert 'system_memory_usage_bytes{_st_zone="",' in text
    assert 'cpu_logical_number="0"' in text
    assert "otel_scope" not in text
    assert "never_reported" not in text


def test_openmetrics_rendering_keeps_the_identity(pull: PrometheusPull) -> None:
    text = generate_openmetrics(pull.registry).decode()
    assert text.endswith("# EOF\n")
    assert 'system_cpu_time_seconds_total{cpu_logical_number="0",cpu_mode="user",' in text
    assert 'node="n1",site="lab",tier="edge"} 3.5' in text


def test_raw_identity_names_are_the_exporters_translation() -> None:
    assert {sanitize_attribute(key) for key in IDENTITY_ATTRIBUTES} == _RAW_IDENTITY_LABELS
