"""Kafka consumers that decode, clean, aggregate and remote-write telemetry; the catalogue.

Run one worker of the consumer group (blocks until SIGINT or SIGTERM, then flushes, waits for
Prometheus to acknowledge and commits)::

    import pipeline
    pipeline.run(Path("continuum.yaml"))

``pipeline.catalogue`` is imported by the API and the dashboards; the worker's modules (Kafka,
protobuf) load only when one of the names below is first used, so that import stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from continuum._lazy import lazy_members

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline._errors import PipelineError, RecordError
    from pipeline._remote_write import RemoteWriteEncoder, snappy_block
    from pipeline._settings import ConfigError, PipelineSettings, WorkerSettings, load_settings
    from pipeline._worker import Worker

__all__ = [
    "ConfigError",
    "PipelineError",
    "PipelineSettings",
    "RecordError",
    "RemoteWriteEncoder",
    "Worker",
    "WorkerSettings",
    "load_settings",
    "run",
    "snappy_block",
]

_LAZY = {
    "ConfigError": "pipeline._settings",
    "PipelineSettings": "pipeline._settings",
    "WorkerSettings": "pipeline._settings",
    "load_settings": "pipeline._settings",
    "PipelineError": "pipeline._errors",
    "RecordError": "pipeline._errors",
    "RemoteWriteEncoder": "pipeline._remote_write",
    "snappy_block": "pipeline._remote_write",
    "Worker": "pipeline._worker",
}


def run(config_file: Path | None) -> None:
    """Run one pipeline worker until SIGINT or SIGTERM (see :func:`pipeline._run.run`)."""
    from pipeline._run import run as run_worker

    run_worker(config_file)


__getattr__ = lazy_members(__name__, _LAZY)
