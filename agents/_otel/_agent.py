"""One agent: collectors on a schedule, recorded through the OpenTelemetry SDK.

The collection loop is the one owner of time: each cycle runs the collectors (in parallel, each
under its budget) and publishes their readings as one snapshot. The SDK's observable instruments
report that snapshot (:mod:`agents._otel._meter`) to two readers: the Prometheus reader behind
``/metrics`` (collected on each scrape, which never runs a collector) and a push reader the loop
collects once per cycle into the :class:`KafkaMetricExporter` (OTLP on Kafka, spooled)::

    agent = Agent("node", collectors, identity=identity, kafka=kafka, settings=settings)
    run_until_signal(agent)          # blocks until SIGINT or SIGTERM, then shuts down cleanly
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

from agents._otel._exporter import KafkaMetricExporter
from agents._otel._footprint import limit_malloc_arenas
from agents._otel._instruments import ReadingBoard
from agents._otel._kafka import KafkaSender, ProducerLike
from agents._otel._meter import SnapshotMeter, cardinality_limits
from agents._otel._prometheus import PrometheusPull
from agents._otel._pull import MetricsServer
from agents._otel._records import Collector, Reading
from agents._otel._resource import Resource, build_resource, identity_labels
from agents._otel._runner import CollectorRunner, CollectorStats
from agents._otel._selftel import (
    COLLECTOR_UP,
    SELF_INSTRUMENTS,
    collector_up_readings,
    self_readings,
)
from agents._otel._settings import AgentSettings, IdentitySettings, KafkaSettings, parse_listen
from agents._otel._spool import DeliveryQueue

__all__ = ["Agent", "run_until_signal"]

_log = logging.getLogger(__name__)


class Agent:
    """Collectors, the pull endpoint and the Kafka push path of one agent.

    Args:
        name: the agent's name (``node``, ``containers``...); the ``agent`` label of
            self-telemetry and the default spool folder.
        collectors: what to run each cycle.
        identity: the ``identity`` section.
        kafka: the ``kafka`` section.
        settings: the agent's own section.
        resource: the resource; default :func:`build_resource` of ``identity``.
        timeouts_s: budgets of particular collectors by name (default
            ``settings.collector_timeout_s``, capped to the interval).
        producer_factory: creates Kafka producers (tests inject fakes).
    """

    def __init__(
        self,
        name: str,
        collectors: Sequence[Collector],
        *,
        identity: IdentitySettings,
        kafka: KafkaSettings,
        settings: AgentSettings,
        resource: Resource | None = None,
        timeouts_s: Mapping[str, float] | None = None,
        producer_factory: Callable[[], ProducerLike] | None = None,
    ) -> None:
        # Before this agent's threads exist: they would each take an arena of their own.
        limit_malloc_arenas()
        self.name = name
        self.settings = settings
        self.resource = resource if resource is not None else build_resource(identity)
        self.cycles = 0
        self._stop = threading.Event()
        self._shut = False

        specs = [*SELF_INSTRUMENTS, *(spec for c in collectors for spec in c.instruments)]
        self.board = ReadingBoard(specs)

        # Pull: the SDK's Prometheus reader in a private registry (nothing global), with the
        # identity labels on every sample; collected on each scrape.
        pull = PrometheusPull(identity_labels(identity))
        self.registry = pull.registry
        readers: list[MetricReader] = [pull.reader]

        # Push: snapshot -> SDK -> OTLP -> FIFO (memory, then spool) -> sender thread -> Kafka,
        # collected by the loop once per cycle (no timer thread of the reader's own).
        self.exporter: KafkaMetricExporter | None = None
        self._push: PeriodicExportingMetricReader | None = None
        if settings.push:
            self.exporter = KafkaMetricExporter(
                kafka,
                key=identity.node_id,
                spool_dir=settings.spool_path(name),
                max_memory_messages=settings.queue_max_messages,
                max_spool_bytes=settings.spool_max_bytes,
                max_message_bytes=settings.max_message_bytes,
                producer_factory=producer_factory,
                start=False,
            )
            self._push = PeriodicExportingMetricReader(
                self.exporter,
                export_interval_millis=math.inf,
                cardinality_limits=cardinality_limits(),
            )
            readers.append(self._push)
        self.meter = SnapshotMeter(self.board, self.resource, f"continuum.agents.{name}", readers)
        self.runner = CollectorRunner(
            collectors,
            timeout_s=min(settings.collector_timeout_s, settings.interval_s),
            timeouts_s=timeouts_s,
        )
        host, port = parse_listen(settings.listen)
        auth = None
        if settings.basic_auth_username is not None:
            password = settings.basic_auth_password
            auth = (settings.basic_auth_username, password.get_secret_value() if password else "")
        self.server = MetricsServer(
            self.registry,
            (host, port),
            tls_certfile=settings.tls_certfile,
            tls_keyfile=settings.tls_keyfile,
            basic_auth=auth,
        )

    @property
    def queue(self) -> DeliveryQueue | None:
        """The push path's FIFO (None in pull-only mode)."""
        return self.exporter.queue if self.exporter is not None else None

    @property
    def sender(self) -> KafkaSender | None:
        """The push path's sender (None in pull-only mode)."""
        return self.exporter.sender if self.exporter is not None else None

    @property
    def stats(self) -> Mapping[str, CollectorStats]:
        """Per-collector counters."""
        return self.runner.stats

    def start(self) -> None:
        """Serve /metrics and start delivering; raises OSError when the listen address is taken."""
        self.server.start()
        if self.exporter is not None:
            self.exporter.start()
        _log.info(
            "%s agent serving %s://%s:%d/metrics",
            self.name,
            self.server.scheme,
            parse_listen(self.settings.listen)[0],
            self.server.port,
        )

    def run_cycle(self) -> dict[str, list[Reading]]:
        """Collect once, publish to both paths, and queue one push export.

        Returns:
            The readings published, by instrument name.
        """
        readings = self.runner.run_once()
        readings.update(
            self_readings(self.name, self.runner.stats, self.queue, self.sender, self.exporter)
        )
        readings[COLLECTOR_UP.name] = collector_up_readings(self.name, self.runner.stats, readings)
        snapshot = self.board.publish(readings)
        self.meter.forget_vanished(snapshot)
        if self._push is not None:
            self._push.collect()
        self.cycles += 1
        return readings

    def run(self) -> None:
        """Start, run a cycle every ``interval_s`` until :meth:`stop`, then shut down."""
        self.start()
        interval_s = self.settings.interval_s
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    self.run_cycle()
                except Exception:  # a cycle that breaks must not end the daemon
                    _log.exception("%s agent cycle failed", self.name)
                next_at += interval_s
                now = time.monotonic()
                if next_at < now:  # fell behind (suspend, overload): skip, do not burst
                    next_at = now + interval_s
                self._stop.wait(next_at - now)
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current cycle (safe from any thread)."""
        self._stop.set()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop serving, deliver what is queued within ``timeout_s`` or spool it (idempotent)."""
        if self._shut:
            return
        self._shut = True
        self._stop.set()
        self.server.stop()
        self.runner.shutdown()
        # The readers' shutdown: the exporter delivers what is queued in time, spools the rest.
        self.meter.shutdown(timeout_s)


def run_until_signal(agent: Agent) -> None:
    """Run an agent in the foreground until SIGINT or SIGTERM, then shut it down gracefully."""

    def handle(signum: int, frame: FrameType | None) -> None:
        _log.info("signal %d: stopping the %s agent", signum, agent.name)
        agent.stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        agent.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
