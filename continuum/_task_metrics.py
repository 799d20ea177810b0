"""Task-level metrics of ``continuum run``, pushed through the agents' Kafka path.

Each attempt that ends is recorded on the node it ran on: its wall time
(``continuum.task.duration``, a histogram, with ``outcome`` finished or failed), its CPU time
(``continuum.task.cpu.time``) and the bytes it read and wrote (``continuum.task.io`` by
``disk.io.direction``), each with the ``workflow`` run and the ``task`` name as attributes.
The resource of each node's series is that node's identity, so in Prometheus ``node``,
``workflow`` and ``task`` join the tasks' series with the node's and the containers' own::

    metrics = TaskMetrics("3f2a...", {"edge-1": ("edge", "lab")})
    session = Session(executor, recorder=metrics)     # or beside another recorder
    ...
    metrics.shutdown()   # last export; what the broker does not take waits in the spool

Exports go through :class:`continuum.otel.KafkaMetricExporter` (spool, retry, OTLP on Kafka),
so a run whose broker is away loses nothing: its next run delivers what this one spooled.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

__all__ = ["TaskMetrics"]

_log = logging.getLogger(__name__)
#: Seconds between exports while a run lasts (the last one happens at shutdown).
EXPORT_INTERVAL_MS = 15_000
# Bucket bounds of the duration histogram: sub-second tasks to hour-long ones.
_DURATION_BOUNDS_S = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
_SPOOL_NAME = re.compile(r"[^A-Za-z0-9._-]")


class _Ended(Protocol):
    task_id: str
    state: str
    node_id: str
    name: str
    run_s: float | None
    cpu_s: float | None
    read_bytes: int | None
    written_bytes: int | None


class _NodeMeters:
    """One node's provider and instruments (its resource is that node's identity)."""

    def __init__(self, provider: Any) -> None:
        meter = provider.get_meter("continuum.run")
        self.provider = provider
        self.duration = meter.create_histogram(
            "continuum.task.duration", unit="s", description="Wall time of a task attempt."
        )
        self.cpu = meter.create_counter(
            "continuum.task.cpu.time", unit="s", description="CPU time of task attempts."
        )
        self.io = meter.create_counter(
            "continuum.task.io", unit="By", description="Bytes task attempts read and wrote."
        )


class TaskMetrics:
    """Records ended attempts per node; a ``Session`` recorder (it takes every transition).

    Args:
        workflow: The run's id (the placement history's), the ``workflow`` attribute.
        sites: Node id -> (tier, site), for each node's resource (unknown nodes: ``cloud``,
            ``local``).
        exporter_factory: Makes a node's exporter from its id (default: a
            ``KafkaMetricExporter`` keyed and spooled per node, from continuum.yaml and the
            ``CONTINUUM_*`` environment).
        config_file: continuum.yaml for the default exporters.
    """

    def __init__(
        self,
        workflow: str,
        sites: Mapping[str, tuple[str, str]] | None = None,
        exporter_factory: Callable[[str], Any] | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.workflow = workflow
        self._sites = dict(sites or {})
        self._config_file = config_file
        self._factory = exporter_factory or self._kafka_exporter
        self._nodes: dict[str, _NodeMeters] = {}

    def _kafka_exporter(self, node_id: str) -> Any:
        from continuum._state import StateDir
        from continuum.otel import KafkaMetricExporter

        spool = StateDir.default().root / "spool" / f"run-{_SPOOL_NAME.sub('_', node_id)}"
        return KafkaMetricExporter(config_file=self._config_file, key=node_id, spool_dir=spool)

    def _meters(self, node_id: str) -> _NodeMeters:
        meters = self._nodes.get(node_id)
        if meters is None:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.metrics.view import (
                ExplicitBucketHistogramAggregation,
                View,
            )
            from opentelemetry.sdk.resources import Resource

            tier, site = self._sites.get(node_id, ("cloud", "local"))
            resource = Resource.create(
                {
                    "service.name": "continuum-run",
                    "continuum.node.id": node_id,
                    "continuum.tier": tier,
                    "continuum.site": site,
                    "continuum.workflow": self.workflow,
                }
            )
            reader = PeriodicExportingMetricReader(
                self._factory(node_id), export_interval_millis=EXPORT_INTERVAL_MS
            )
            buckets = View(
                instrument_name="continuum.task.duration",
                aggregation=ExplicitBucketHistogramAggregation(_DURATION_BOUNDS_S),
            )
            provider = MeterProvider(resource=resource, metric_readers=[reader], views=[buckets])
            meters = self._nodes[node_id] = _NodeMeters(provider)
        return meters

    def __call__(self, transition: _Ended) -> None:
        """Record ``transition`` if it ended an attempt that a worker measured."""
        if transition.state not in ("finished", "failed") or transition.run_s is None:
            return
        if not transition.node_id:
            return
        meters = self._meters(transition.node_id)
        attributes = {"workflow": self.workflow, "task": transition.name or transition.task_id}
        outcome = "finished" if transition.state == "finished" else "failed"
        meters.duration.record(transition.run_s, {**attributes, "outcome": outcome})
        if transition.cpu_s is not None:
            meters.cpu.add(transition.cpu_s, attributes)
        for direction, value in (
            ("read", transition.read_bytes),
            ("write", transition.written_bytes),
        ):
            if value is not None:
                meters.io.add(value, {**attributes, "disk.io.direction": direction})

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Export what was recorded so far, node by node; False if any export failed."""
        flushed = True
        for node_id, meters in self._nodes.items():
            try:
                flushed = meters.provider.force_flush(timeout_millis=timeout_millis) and flushed
            except Exception as err:  # metrics must never fail the run they describe
                _log.warning("task metrics of %s not exported: %r", node_id, err)
                flushed = False
        return flushed

    def shutdown(self, timeout_millis: float = 10_000) -> None:
        """Export what was recorded and stop (the SDK's verbs, as every sink here); an export
        the broker refuses stays spooled."""
        for node_id, meters in self._nodes.items():
            try:
                meters.provider.shutdown(timeout_millis=timeout_millis)
            except Exception as err:  # metrics must never fail the run they describe
                _log.warning("task metrics of %s not exported: %r", node_id, err)
        self._nodes.clear()
