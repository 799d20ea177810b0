"""The worker loop with injected Kafka clients: dispatch, events, heartbeats, bad records."""

from __future__ import annotations

import socket
import sys
import threading
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from agents._otel import KafkaSettings
from agents.worker import Worker, WorkerSettings
from agents.worker._data import DataDirectory, DataServer
from agents.worker._settings import DataSettings
from continuum.config import ConfigError
from continuum.services import wait_until
from scheduler_api.workflow import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    TaskEvent,
    WorkerHeartbeat,
    datasets_in,
)
from tests.unit.agents.worker import data_tasks

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Running:
    """A worker loop in a thread, with the events it sent."""

    def __init__(self, node: str, settings: WorkerSettings, assignment: Assignment) -> None:
        self.producer = FakeProducer()
        consumer = FakeConsumer([assignment.encode()])
        self.worker = Worker(node, KafkaSettings(), settings, clients=(self.producer, consumer))
        self.stop = threading.Event()
        self.loop = threading.Thread(target=self.worker.run, args=(self.stop,))
        self.loop.start()

    def ended(self) -> list[TaskEvent]:
        sent = [TaskEvent.decode(v) for t, v in self.producer.sent if t == TASK_EVENTS_TOPIC]
        return [e for e in sent if e.kind != "started"]

    def last(self) -> TaskEvent:
        wait_until(self.ended, 30, "the attempt's end")
        return self.ended()[-1]

    def close(self) -> None:
        self.stop.set()
        self.loop.join(10)


def test_an_output_one_node_serves_is_fetched_by_a_nat_node_that_puts_its_own_in_the_store(
    tmp_path: Path,
) -> None:
    store = DataServer(DataDirectory(tmp_path / "store"), "127.0.0.1", 0, writable=True).start()
    port = _free_port()
    # By its file: the attempt runs in the worker's directory, where `tests` is no package.
    tasks = {"module": data_tasks.__name__, "file": data_tasks.__file__}

    def settings(node: str, data: DataSettings) -> WorkerSettings:
        return WorkerSettings(workdir=tmp_path / node, heartbeat_s=0.05, poll_ms=10, data=data)

    make = Assignment("wf", "make", 1, "cloud-1", **tasks, function="make", args=["reads", 4096])
    cloud = _Running("cloud-1", settings("cloud", DataSettings(listen=f"127.0.0.1:{port}")), make)
    try:
        made = cloud.last()
        assert made.kind == "finished", made.error
        beats = [WorkerHeartbeat.decode(v) for t, v in cloud.producer.sent if t == HEARTBEATS_TOPIC]
        assert {b.data_url for b in beats} == {f"http://127.0.0.1:{port}"}
        [reads] = datasets_in(made.value)
        assert reads.urls == (f"http://127.0.0.1:{port}/v1/data/reads",)
        assert (reads.nodes, reads.size_bytes, made.published_bytes) == (("cloud-1",), 4096, 0)

        # Behind NAT: no data server of its own, so its outputs go to the store.
        behind_nat = DataSettings(store_url=f"http://127.0.0.1:{store.port}")
        digest = Assignment(
            "wf",
            "digest",
            1,
            "edge-1",
            **tasks,
            function="digest",
            args=[made.value, "summary"],
        )
        edge = _Running("edge-1", settings("edge", behind_nat), digest)
        try:
            digested = edge.last()
        finally:
            edge.close()
    finally:
        cloud.close()
        store.stop()
    assert digested.kind == "finished", digested.error
    assert digested.fetched_bytes == 4096  # the input crossed the wire once
    assert digested.value["bytes"] == 4096  # the task read its local copy
    [summary] = datasets_in(digested.value)
    assert summary.urls == (f"http://127.0.0.1:{store.port}/v1/data/summary",)
    assert summary.nodes == ("edge-1",)
    assert digested.published_bytes == summary.size_bytes > 0
    stored = (tmp_path / "store" / "summary").read_text()
    assert stored.startswith("reads 4096 ")


def test_a_data_server_that_cannot_start_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        for data, key in (
            (DataSettings(listen=f"127.0.0.1:{port}"), "worker.data.listen"),
            (
                DataSettings(listen=f"127.0.0.1:{_free_port()}", token_file=tmp_path / "absent"),
                "worker.data.token_file",
            ),
            (
                DataSettings(listen=f"127.0.0.1:{_free_port()}", token_file=tmp_path / "empty"),
                "worker.data.token_file",
            ),
        ):
            settings = WorkerSettings(workdir=tmp_path, data=data)
            clients = (FakeProducer(), FakeConsumer([]))
            worker = Worker("n1", KafkaSettings(), settings, clients=clients)
            with pytest.raises(ConfigError, match=key):
                worker.run(threading.Event())
    finally:
        busy.close()


def test_an_attempt_the_worker_cannot_even_start_still_ends_in_a_failed_event(
    tmp_path: Path,
) -> None:
    """A worker that beats but never reports would hold its task forever: bad data fails it."""
    broken = Assignment(
        "wf", "t1", 1, "n1", argv=["true"], args=[{"__dataset__": {"urls": "not a list"}}]
    )
    running = _Running("n1", WorkerSettings(workdir=tmp_path, heartbeat_s=0.05, poll_ms=10), broken)
    try:
        ended = running.last()
    finally:
        running.close()
    assert ended.kind == "failed"
    assert "no dataset_id" in ended.error
