"""The worker loop with injected Kafka clients: dispatch, events, heartbeats, bad records."""

from __future__ import annotations

import sys
import threading
from collections import namedtuple
from pathlib import Path
from typing import Any

from agents._otel import KafkaSettings
from agents.worker import Worker, WorkerSettings
from continuum._services import wait_until
from scheduler_api.workflow._events import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    TaskEvent,
    WorkerHeartbeat,
)

Record = namedtuple("Record", "value")


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, value))

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


class FakeConsumer:
    def __init__(self, values: list[bytes]) -> None:
        self.values = values
        self.commits = 0

    def poll(self, timeout_ms: int) -> dict[Any, list[Record]]:
        batch, self.values = self.values, []
        return {"tp": [Record(v) for v in batch]} if batch else {}

    def commit(self) -> None:
        self.commits += 1

    def close(self) -> None:
        pass


def test_assignments_become_started_and_finished_events_and_bad_ones_are_counted(
    tmp_path: Path,
) -> None:
    good = Assignment("wf", "t1", 1, "n1", argv=[sys.executable, "-c", "print(42)"])
    other = Assignment("wf", "t2", 1, "n2", argv=["true"])
    producer = FakeProducer()
    consumer = FakeConsumer([good.encode(), b"not json", other.encode()])
    settings = WorkerSettings(workdir=tmp_path, heartbeat_s=0.05, poll_ms=10)
    worker = Worker("n1", KafkaSettings(), settings, clients=(producer, consumer))
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()

    def kinds() -> list[str]:
        return [TaskEvent.decode(v).kind for t, v in producer.sent if t == TASK_EVENTS_TOPIC]

    try:
        wait_until(lambda: kinds() == ["started", "finished"], 30, "the task's events")
    finally:
        stop.set()
        loop.join(10)
    assert worker.rejected == 2
    assert consumer.commits == 1
    finished = TaskEvent.decode([v for t, v in producer.sent if t == TASK_EVENTS_TOPIC][-1])
    assert (finished.task, finished.node, finished.value) == ("t1", "n1", "42\n")
    beats = [WorkerHeartbeat.decode(v) for t, v in producer.sent if t == HEARTBEATS_TOPIC]
    assert beats
    assert {b.node for b in beats} == {"n1"}
