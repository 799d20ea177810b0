"""Push an application's OpenTelemetry metrics through the agents' path into Prometheus.

:class:`KafkaMetricExporter` is the exporter the node and container agents use: an SDK
``MetricExporter`` that encodes OTLP protobuf with the SDK's encoder, queues it in memory and
spills to an on-disk spool while the broker is away, and delivers in order, at least once, to the
``otlp_metrics`` topic the pipeline reads. :func:`continuum_resource` gives the application the
node's identity (``continuum.node.id``, ``continuum.tier``, ``continuum.site``, which become the
``node``, ``tier`` and ``site`` labels of every series) and, where given, its workflow and task
(on ``target_info``). Both read the ``kafka`` and ``identity`` sections of continuum.yaml and
the ``CONTINUUM_KAFKA__*``/``CONTINUUM_IDENTITY__*`` environment, as the agents do::

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from continuum.otel import KafkaMetricExporter, continuum_resource

    exporter = KafkaMetricExporter()                  # brokers from continuum.yaml / environment
    provider = MeterProvider(
        resource=continuum_resource(service_name="miner", workflow="wf-1", task="apriori"),
        metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=10_000)],
    )
    counter = provider.get_meter("miner").create_counter("miner.itemsets", unit="{itemset}")
    counter.add(42)
    provider.shutdown()          # last export; up to its timeout to deliver, the rest is spooled

docs/applications.md describes it; examples/mining.py instruments a small data-mining function.
Errors: :class:`agents._otel.ConfigError` (a ``ValueError``) for bad settings; an export never
raises into the application (failures are counted on the exporter and logged once).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from msgspec import structs
from opentelemetry.sdk.resources import Resource

from agents._otel import IdentitySettings, ProducerLike, build_resource
from agents._otel import KafkaMetricExporter as _KafkaMetricExporter
from continuum.config import KafkaSettings, load_section, state_dir

__all__ = ["KafkaMetricExporter", "continuum_resource"]


def _application_name() -> str:
    name = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("-c", "-m") else "python"


def _config(config_file: Path | str | None) -> Path | None:
    return Path(config_file) if config_file is not None else None


class KafkaMetricExporter(_KafkaMetricExporter):
    """The agents' Kafka exporter, set up for an application.

    Args:
        config_file: continuum.yaml (its ``kafka`` and ``identity`` sections), or None for
            defaults and the ``CONTINUUM_*`` environment.
        bootstrap_servers: overrides ``kafka.bootstrap_servers`` (``host:port,...``).
        topic: overrides ``kafka.topic``.
        key: the record key; default the node id of ``identity``, as the agents (keep it so:
            one node's records stay in order on one partition).
        spool_dir: where exports wait while the broker is unreachable; default
            ``<state dir>/spool/app-<script name>``. Give each concurrently running process its
            own: what one leaves there, the next run of it delivers first.
        max_spool_bytes: the spool's cap; past it the oldest exports are dropped, and counted.
        producer_factory: creates Kafka producers (default kafka-python).
        start: start delivering now.

    Raises:
        ConfigError: a setting in the file or the environment is invalid.
    """

    def __init__(
        self,
        *,
        config_file: Path | str | None = None,
        bootstrap_servers: str | None = None,
        topic: str | None = None,
        key: str | None = None,
        spool_dir: Path | None = None,
        max_spool_bytes: int = 64 << 20,
        producer_factory: Callable[[], ProducerLike] | None = None,
        start: bool = True,
    ) -> None:
        path = _config(config_file)
        kafka = load_section(KafkaSettings, "kafka", path)
        overrides = {"bootstrap_servers": bootstrap_servers, "topic": topic}
        kafka = structs.replace(kafka, **{k: v for k, v in overrides.items() if v is not None})
        if key is None:
            key = load_section(IdentitySettings, "identity", path).node_id
        super().__init__(
            kafka,
            key=key,
            spool_dir=spool_dir or state_dir() / "spool" / f"app-{_application_name()}",
            max_spool_bytes=max_spool_bytes,
            producer_factory=producer_factory,
            start=start,
        )


def continuum_resource(
    *,
    service_name: str | None = None,
    workflow: str | None = None,
    task: str | None = None,
    attributes: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
) -> Resource:
    """The SDK resource of an application on this node (docs/contracts.md §3.1).

    The SDK's defaults (``telemetry.sdk.*``, ``service.name``, ``OTEL_RESOURCE_ATTRIBUTES``) are
    kept; the node's identity and the arguments win over them.

    Args:
        service_name: ``service.name``.
        workflow: ``continuum.workflow``, the workflow (run) the application serves.
        task: ``continuum.task``, the task within it.
        attributes: further resource attributes.
        config_file: continuum.yaml for the ``identity`` section, or None.
    """
    identity = load_section(IdentitySettings, "identity", _config(config_file))
    merged: dict[str, str] = dict(build_resource(identity).attributes)
    if service_name is not None:
        merged["service.name"] = service_name
    if workflow is not None:
        merged["continuum.workflow"] = workflow
    if task is not None:
        merged["continuum.task"] = task
    merged.update(attributes or {})
    return Resource.create(merged)
