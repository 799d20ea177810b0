"""The agent's own telemetry under ``continuum.agent.*``, labelled with the agent's name.

Every agent on a node shares the node's identity labels, so the ``agent`` attribute keeps their
self-telemetry apart::

    readings = self_readings("node", runner.stats, fifo, sender, exporter)
    up = collector_up_readings("node", runner.stats, readings)   # after the cycle's readings

``continuum.agent.collector.up`` says, for every collector of the agent and every kind of
measurement one collector takes on several sources (hardware sources, probe kinds), whether it
delivered in the last cycle, and if not why (``reason``): no measurement kind goes missing
without a series saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agents._otel._exporter import KafkaMetricExporter
from agents._otel._kafka import KafkaSender
from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents._otel._runner import CollectorStats
from agents._otel._spool import DeliveryQueue

__all__ = ["COLLECTOR_UP", "SELF_INSTRUMENTS", "collector_up_readings", "self_readings"]

_G = InstrumentKind.GAUGE
_C = InstrumentKind.COUNTER

COLLECTOR_UP = InstrumentSpec(
    "continuum.agent.collector.up",
    _G,
    "1",
    "1 when the collector, hardware source or probe kind delivered in the last cycle, else 0; "
    "reason says why (ok, failed, timeout, not_permitted, absent, disabled, not_installed).",
)
# What the node agent's hardware collectors and the probe agent report per source and per
# probe: read by name, since the agent core does not import the agents built on it.
_HW_SOURCE = "continuum.hw.source.available"
_HW_SOURCE_KEY = "continuum.hw.source"
_HW_STATE_KEY = "continuum.hw.source.state"
_PROBE_SUCCESS = "continuum.probe.success"
_PROBE_FAILURES = "continuum.probe.failures"

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
    COLLECTOR_UP,
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


def collector_up_readings(
    agent: str, stats: Mapping[str, CollectorStats], readings: Mapping[str, Sequence[Reading]]
) -> list[Reading]:
    """``continuum.agent.collector.up`` for every collector, hardware source and probe kind.

    Args:
        agent: the agent's name (the ``agent`` attribute).
        stats: the runner's per-collector counters, after the cycle.
        readings: the cycle's readings by instrument, where the per-source states are read.

    A probe kind is up when one of its targets succeeded in its latest run; one with none is
    ``not_permitted`` when a target of it was refused for that reason, else ``failed``.
    """
    state: dict[str, str] = {name: s.outcome for name, s in stats.items()}
    for reading in readings.get(_HW_SOURCE, ()):
        source = str(reading.attributes.get(_HW_SOURCE_KEY) or "")
        if source:
            known = str(reading.attributes.get(_HW_STATE_KEY) or "")
            state[source] = known or ("ok" if reading.value else "failed")
    succeeded: dict[str, bool] = {}
    for reading in readings.get(_PROBE_SUCCESS, ()):
        kind = str(reading.attributes.get("probe_kind") or "")
        if kind:
            succeeded[kind] = succeeded.get(kind, False) or reading.value > 0
    refused = {
        str(reading.attributes.get("probe_kind"))
        for reading in readings.get(_PROBE_FAILURES, ())
        if reading.attributes.get("reason") == "not_permitted" and reading.value > 0
    }
    for kind, ok in succeeded.items():
        state[kind] = "ok" if ok else "not_permitted" if kind in refused else "failed"
    return [
        Reading(
            COLLECTOR_UP.name,
            1.0 if reason == "ok" else 0.0,
            {"agent": agent, "collector": collector, "reason": reason},
        )
        for collector, reason in sorted(state.items())
    ]
