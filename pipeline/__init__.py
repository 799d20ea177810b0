"""Kafka consumers that decode, clean, aggregate and remote-write telemetry; the catalogue.

Run one worker of the consumer group (blocks until SIGINT or SIGTERM, then flushes, waits for
Prometheus to acknowledge and commits)::

    import pipeline
    pipeline.run(Path("continuum.yaml"))
"""

from __future__ import annotations

from pipeline._config import ConfigError, PipelineSettings, WorkerSettings, load_settings
from pipeline._errors import PipelineError, RecordError
from pipeline._remote_write import RemoteWriteEncoder, snappy_block
from pipeline._run import run
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
