"""The OpenTelemetry wiring every agent shares, on the OpenTelemetry SDK.

An agent is a list of collectors plus its settings. :class:`Agent` runs the collectors every
interval (each on its own thread under its own time budget) and records their readings through
an SDK ``MeterProvider`` (observable instruments over the cycle's snapshot). The SDK's
Prometheus reader serves them on ``/metrics`` (Prometheus text or OpenMetrics, with the
``node``, ``tier``, ``site`` labels), and :class:`KafkaMetricExporter`, an SDK
``MetricExporter``, pushes them as OTLP protobuf to Kafka through a memory queue that spills to
an on-disk spool::

    from agents._otel import (Agent, AgentSettings, IdentitySettings, InstrumentKind,
                              InstrumentSpec, KafkaSettings, Reading, load_section,
                              run_until_signal)

    class LoadCollector:
        name = "load"
        instruments = (InstrumentSpec("system.cpu.load_average.1m", InstrumentKind.GAUGE,
                                      "{thread}", "Load average over one minute."),)

        def collect(self) -> list[Reading]:
            return [Reading("system.cpu.load_average.1m", os.getloadavg()[0])]

    def run(config_file: Path | None) -> None:
        agent = Agent(
            "node",
            [LoadCollector()],
            identity=load_section(IdentitySettings, "identity", config_file),
            kafka=load_section(KafkaSettings, "kafka", config_file),
            settings=load_section(AgentSettings, "agent", config_file),
        )
        run_until_signal(agent)

The names load on first use: the settings (``agents._otel._settings``, which the CLI and the
other roles read) stay free of the SDK and Kafka.

Errors: :class:`ConfigError` (a ``ValueError``) for bad settings; nothing else escapes a running
agent (collector failures, broker outages and spool write errors are counted and logged once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from continuum._lazy import lazy_members

if TYPE_CHECKING:
    from agents._otel._agent import Agent, run_until_signal
    from agents._otel._exporter import KafkaMetricExporter
    from agents._otel._instruments import ReadingBoard, Snapshot
    from agents._otel._kafka import (
        OTLP_CONTENT_TYPE,
        KafkaSender,
        ProducerLike,
        default_producer_factory,
    )
    from agents._otel._meter import SnapshotMeter
    from agents._otel._prometheus import IdentityLabels, PrometheusPull
    from agents._otel._pull import MetricsServer
    from agents._otel._records import Collector, InstrumentKind, InstrumentSpec, Reading
    from agents._otel._resource import (
        IDENTITY_ATTRIBUTES,
        LABEL_PREFIX,
        Resource,
        build_resource,
        host_arch,
        identity_labels,
    )
    from agents._otel._runner import CollectorRunner, CollectorStats, TimedWorker
    from agents._otel._selftel import SELF_INSTRUMENTS, self_readings
    from agents._otel._settings import (
        AgentSettings,
        ConfigError,
        IdentitySettings,
        KafkaSettings,
        Secret,
        check_listen,
        load_section,
        parse_listen,
        state_dir,
        validate_section,
    )
    from agents._otel._split import count_points, split_request
    from agents._otel._spool import DeliveryQueue, Message

__all__ = [
    "IDENTITY_ATTRIBUTES",
    "LABEL_PREFIX",
    "OTLP_CONTENT_TYPE",
    "SELF_INSTRUMENTS",
    "Agent",
    "AgentSettings",
    "Collector",
    "CollectorRunner",
    "CollectorStats",
    "ConfigError",
    "DeliveryQueue",
    "IdentityLabels",
    "IdentitySettings",
    "InstrumentKind",
    "InstrumentSpec",
    "KafkaMetricExporter",
    "KafkaSender",
    "KafkaSettings",
    "Message",
    "MetricsServer",
    "ProducerLike",
    "PrometheusPull",
    "Reading",
    "ReadingBoard",
    "Resource",
    "Secret",
    "Snapshot",
    "SnapshotMeter",
    "TimedWorker",
    "build_resource",
    "check_listen",
    "count_points",
    "default_producer_factory",
    "host_arch",
    "identity_labels",
    "load_section",
    "parse_listen",
    "run_until_signal",
    "self_readings",
    "split_request",
    "state_dir",
    "validate_section",
]

_LAZY = {
    "Agent": "agents._otel._agent",
    "run_until_signal": "agents._otel._agent",
    "KafkaMetricExporter": "agents._otel._exporter",
    "ReadingBoard": "agents._otel._instruments",
    "Snapshot": "agents._otel._instruments",
    "OTLP_CONTENT_TYPE": "agents._otel._kafka",
    "KafkaSender": "agents._otel._kafka",
    "ProducerLike": "agents._otel._kafka",
    "default_producer_factory": "agents._otel._kafka",
    "SnapshotMeter": "agents._otel._meter",
    "IdentityLabels": "agents._otel._prometheus",
    "PrometheusPull": "agents._otel._prometheus",
    "MetricsServer": "agents._otel._pull",
    "Collector": "agents._otel._records",
    "InstrumentKind": "agents._otel._records",
    "InstrumentSpec": "agents._otel._records",
    "Reading": "agents._otel._records",
    "IDENTITY_ATTRIBUTES": "agents._otel._resource",
    "LABEL_PREFIX": "agents._otel._resource",
    "Resource": "agents._otel._resource",
    "build_resource": "agents._otel._resource",
    "host_arch": "agents._otel._resource",
    "identity_labels": "agents._otel._resource",
    "CollectorRunner": "agents._otel._runner",
    "CollectorStats": "agents._otel._runner",
    "TimedWorker": "agents._otel._runner",
    "SELF_INSTRUMENTS": "agents._otel._selftel",
    "self_readings": "agents._otel._selftel",
    "AgentSettings": "agents._otel._settings",
    "ConfigError": "agents._otel._settings",
    "IdentitySettings": "agents._otel._settings",
    "KafkaSettings": "agents._otel._settings",
    "Secret": "agents._otel._settings",
    "check_listen": "agents._otel._settings",
    "load_section": "agents._otel._settings",
    "parse_listen": "agents._otel._settings",
    "state_dir": "agents._otel._settings",
    "validate_section": "agents._otel._settings",
    "count_points": "agents._otel._split",
    "split_request": "agents._otel._split",
    "DeliveryQueue": "agents._otel._spool",
    "Message": "agents._otel._spool",
}


__getattr__ = lazy_members(__name__, _LAZY)
