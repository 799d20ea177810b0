"""The agent's own telemetry under ``continuum.agent.*``, labelled with the agent's name.

Every agent on a node shares the node's identity labels, so the ``agent`` attribute keeps their
self-telemetry apart::

    readings = self_readings("node", runner.stats, fifo, sender, exporter)
"""

from __future__ import annotations

from collections.abc import Mapping

from agents._otel._exporter import KafkaMetricExporter
from agents._otel._kafka import KafkaSender
from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents._otel._runner import CollectorStats
from agents._otel._spool import DeliveryQueue

__all__ = ["SELF_INSTRUMENTS", "self_readings"]

_G = InstrumentKind.GAUGE
_C = InstrumentKind.COUNTER

#: Self-telemetry instruments every agent exports.
SELF_INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    InstrumentSpec(
        "continuum.agent.collector.duration", _G, "s", "Wall time of the collector's last run."
    ),
    InstrumentSpec(
        "continuum.agent.collector.failures", _C, "{failure}", "Collector runs that raised."
    ),
    InstrumentSpec(
        "continuum.agent.collector.timeouts",
        _C,
        "{timeout}",
        "Cycles a collector was skipped in because it overran its time budget or was still stuck.",
    ),
    InstrumentSpec(
        "continuum.agent.export.queue.depth",
        _G,
        "{message}",
        "Export messages waiting for the broker, in memory and in the spool.",
    ),
    InstrumentSpec(
        "continuum.agent.spool.usage", _G, "By", "Bytes held in the on-disk export spool."
    ),
    InstrumentSpec(
        "continuum.agent.dropped.points",
        _C,
        "{point}",
        "Data points dropped because the spool was over its byte cap or unwritable.",
    ),
    InstrumentSpec(
        "continuum.agent.export.errors",
        _C,
        "{error}",
        "Failed attempts to encode an export or to deliver it to Kafka.",
    ),
    InstrumentSpec(
        "continuum.agent.exported.points",
        _C,
        "{point}",
        "Data points queued for Kafka (delivered or still waiting).",
    ),
    InstrumentSpec(
        "continuum.agent.delivered.points",
        _C,
        "{point}",
        "Data points acknowledged by Kafka.",
    ),
)


def self_readings(
    agent: str,
    stats: Mapping[str, CollectorStats],
    queue: DeliveryQueue | None,
    sender: KafkaSender | None,
    exporter: KafkaMetricExporter | None,
) -> dict[str, list[Reading]]:
    """Readings of the self-telemetry instruments (push parts absent in pull-only mode)."""
    out: dict[str, list[Reading]] = {}

    def add(name: str, value: float, **attributes: str) -> None:
        out.setdefault(name, []).append(Reading(name, value, {"agent": agent, **attributes}))

    for collector, s in stats.items():
        add("continuum.agent.collector.duration", s.duration_s, collector=collector)
        add("continuum.agent.collector.failures", s.failures, collector=collector)
        add("continuum.agent.collector.timeouts", s.timeouts, collector=collector)
    if queue is not None and sender is not None and exporter is not None:
        add("continuum.agent.export.queue.depth", queue.depth)
        add("continuum.agent.spool.usage", queue.spool_bytes)
        add("continuum.agent.dropped.points", queue.dropped_points)
        add("continuum.agent.export.errors", sender.errors + exporter.errors)
        add("continuum.agent.exported.points", exporter.exported_points)
        add("continuum.agent.delivered.points", sender.delivered_points)
    return out
