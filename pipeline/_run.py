"""``pipeline.run``: one worker in the foreground, with its /metrics and /healthz endpoint."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from prometheus_client import disable_created_metrics

from pipeline._selfmetrics import MetricsServer
from pipeline._settings import load_settings
from pipeline._worker import Worker

__all__ = ["run"]

_log = logging.getLogger(__name__)


def run(config_file: Path | None) -> None:
    """Run one pipeline worker until SIGINT or SIGTERM, then shut down gracefully.

    Args:
        config_file: continuum.yaml (sections ``kafka`` and ``pipeline``), or None for
            defaults and ``CONTINUUM_...`` environment variables only.

    Raises:
        ConfigError: a setting is invalid (the message names the key).
        OSError: the self-metrics port cannot be bound.
    """
    settings = load_settings(config_file)
    # ``*_created`` gauges would double every self-metric in Prometheus for no use here.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    worker = Worker(settings)
    host, _, port = settings.pipeline.listen.rpartition(":")
    server = MetricsServer(host, int(port), worker.metrics.registry, healthy=worker.healthy)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _log.info("stopping on signal %d", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    try:
        worker.run(stop)
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
