"""Pipeline workers as real subprocesses against the session's (or a fresh) Tansu and Prometheus.

Each test gets its own topic, dead-letter topic and consumer group, so tests sharing the
session broker do not see each other's records.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from continuum.services import ManagedProcess, free_port, http_ok, wait_until

with warnings.catch_warnings():
    # kafka-python 3.0.12 uses a deprecated importlib API at import (not ours to fix).
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import TopicPartition


class PipelineRun:
    """Topics, group and config of one test, and the workers started for it."""

    def __init__(self, workdir: Path, bootstrap: str, remote_write_url: str):
        tag = secrets.token_hex(4)
        self.workdir = workdir
        self.bootstrap = bootstrap
        self.topic = f"itest-otlp-{tag}"
        self.dlq_topic = f"{self.topic}.dlq"
        self.group_id = f"itest-pipeline-{tag}"
        self.remote_write_url = remote_write_url
        self.workers: list[ManagedProcess] = []
        self._producer: KafkaProducer | None = None
        self._sent: list[Any] = []
        self._end: dict[int, int] = {}

    def config(self, port: int) -> Path:
        path = self.workdir / f"pipeline-{port}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "kafka": {
                        "bootstrap_servers": self.bootstrap,
                        "topic": self.topic,
                        "dlq_topic": self.dlq_topic,
                    },
                    "pipeline": {
                        "listen": f"127.0.0.1:{port}",
                        "group_id": self.group_id,
                        "remote_write_url": self.remote_write_url,
                        "batch_max_delay_s": 0.1,
                        "retry_initial_backoff_s": 0.2,
                        "retry_max_backoff_s": 1.0,
                    },
                }
            )
        )
        return path

    def start_worker(self) -> ManagedProcess:
        port = free_port()
        argv = [sys.executable, "-m", "continuum", "pipeline", "--config", str(self.config(port))]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
        worker = ManagedProcess(
            f"pipeline-{len(self.workers)}", argv, self.workdir / f"worker-{port}.log", env=env
        )
        worker.start()
        worker.metrics_url = f"http://127.0.0.1:{port}/metrics"  # type: ignore[attr-defined]
        wait_until(
            lambda: self._alive(worker) and http_ok(f"http://127.0.0.1:{port}/healthz"),
            30,
            f"pipeline worker ({worker.log_tail()})",
        )
        self.workers.append(worker)
        return worker

    @staticmethod
    def _alive(worker: ManagedProcess) -> bool:
        if not worker.running():
            raise AssertionError(f"worker exited:\n{worker.log_tail(40)}")
        return True

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap, acks=1, enable_idempotence=False, linger_ms=2
            )
        return self._producer

    def send(
        self,
        key: str | None,
        value: bytes,
        content_type: str | None = "application/x-protobuf",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Produce one record (``key`` or ``content_type`` None: left out, as a Collector does)."""
        all_headers = [("content-type", content_type.encode())] if content_type else []
        all_headers += [(k, v.encode()) for k, v in (headers or {}).items()]
        self._sent.append(
            self.producer.send(
                self.topic,
                key=key.encode() if key is not None else None,
                value=value,
                headers=all_headers,
            )
        )

    def flush(self) -> None:
        self.producer.flush(timeout=30)
        for future in self._sent:
            meta = future.get(timeout=10)
            self._end[meta.partition] = max(self._end.get(meta.partition, 0), meta.offset + 1)
        self._sent.clear()

    def end_offsets(self) -> dict[int, int]:
        """Next offset of each partition written to, from the producer's acknowledgements.

        (Tansu's ListOffsets answers are not reliable enough to test against.)
        """
        return dict(self._end)

    def committed(self) -> dict[int, int]:
        # A consumer of the group that never subscribes reads commits without joining.
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group_id)
        try:
            out = {}
            for p in self._end:
                offset = consumer.committed(TopicPartition(self.topic, p))
                out[p] = offset if offset is not None else 0
            return out
        finally:
            consumer.close()

    def dead_letters(self, expected: int, timeout_s: float = 20.0) -> list[Any]:
        consumer = KafkaConsumer(
            self.dlq_topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
        )
        found: list[Any] = []
        deadline = time.monotonic() + timeout_s
        try:
            while len(found) < expected and time.monotonic() < deadline:
                found.extend(consumer)
        finally:
            consumer.close()
        return found

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log_tail(30)}" for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self._producer is not None:
            self._producer.close(timeout=5)


@pytest.fixture
def pipeline_run_factory(tmp_path: Path) -> Iterator[Callable[[str, str], PipelineRun]]:
    """Make a :class:`PipelineRun` for a broker and a remote-write URL; stopped after the test."""
    runs: list[PipelineRun] = []

    def make(bootstrap: str, remote_write_url: str) -> PipelineRun:
        run = PipelineRun(tmp_path, bootstrap, remote_write_url)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.stop()
