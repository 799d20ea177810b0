"""The pull executor against injected Kafka clients: dispatch, completions, dead workers."""

from __future__ import annotations

import os
import runpy
import time
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from continuum.services import wait_until
from scheduler_api._datasets import DatasetRecord
from scheduler_api.executors import LogCapture, TaskOutput, TaskUsage
from scheduler_api.executors._pull import MAX_WIRE_OUTPUT_BYTES, PullExecutor, task_reference
from scheduler_api.placement import NodeInfo
from scheduler_api.workflow import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    Dataset,
    TaskEvent,
    WorkerHeartbeat,
    datasets_in,
    to_wire,
)

Record = namedtuple("Record", "topic value")


class Wire:
    """Producer and consumer in one: what is sent is kept, what is queued is polled."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.queued: list[Record] = []

    def send(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, value))

    def flush(self, timeout: float | None = None) -> None:
        pass

    def poll(self, timeout_ms: int) -> dict[Any, list[Record]]:
        batch, self.queued = self.queued, []
        return {"tp": batch} if batch else {}

    def close(self) -> None:
        pass


def square(x: int) -> int:
    return x * x


def _executor(wire: Wire, timeout_s: float = 5.0) -> PullExecutor:
    nodes = [NodeInfo("edge-1"), NodeInfo("cloud-1")]
    return PullExecutor(
        nodes,
        kafka_options={},
        workflow_id="wf",
        heartbeat_timeout_s=timeout_s,
        clients=(wire, wire),
    )


def test_a_task_goes_to_its_nodes_topic_and_its_finished_event_completes_it() -> None:
    wire = Wire()
    executor = _executor(wire)
    executor.submit("sq-1", "edge-1", square, (3,), {})
    [(topic, raw)] = wire.sent
    assignment = Assignment.decode(raw)
    assert topic == "continuum.tasks.edge-1"
    assert (assignment.module, assignment.function, assignment.args) == (__name__, "square", [3])
    assert assignment.file == __file__
    done = TaskEvent("finished", "wf", "sq-1", 1, "edge-1", time.time(), time.time(), value=9)
    other_run = TaskEvent("finished", "other", "sq-1", 1, "edge-1", time.time())
    wire.queued = [
        Record(TASK_EVENTS_TOPIC, other_run.encode()),
        Record(TASK_EVENTS_TOPIC, done.encode()),
    ]
    [completion] = executor.wait(1.0)
    assert (completion.task_id, completion.node_id, completion.ok, completion.value) == (
        "sq-1",
        "edge-1",
        True,
        9,
    )
    assert [e.workflow for e in executor.events] == ["wf"]


def test_a_silent_worker_fails_its_attempts_and_drops_out_of_the_live_nodes() -> None:
    wire = Wire()
    executor = _executor(wire, timeout_s=0.2)
    now = time.time()
    wire.queued = [
        Record(HEARTBEATS_TOPIC, WorkerHeartbeat("edge-1", now).encode()),
        Record(HEARTBEATS_TOPIC, WorkerHeartbeat("cloud-1", now).encode()),
    ]
    executor.submit("sq-1", "edge-1", square, (3,), {})
    assert executor.wait(0.05) == []
    assert {n.node_id for n in executor.live(executor.nodes())} == {"edge-1", "cloud-1"}
    live = lambda: {n.node_id for n in executor.live(executor.nodes())}  # noqa: E731
    wait_until(lambda: "edge-1" not in live(), 5, "edge-1's heartbeat to age out")
    wire.queued = [Record(HEARTBEATS_TOPIC, WorkerHeartbeat("cloud-1", time.time()).encode())]
    [completion] = executor.wait(1.0)
    assert not completion.ok
    assert "no heartbeat" in completion.error
    assert [n.node_id for n in executor.live(executor.nodes())] == ["cloud-1"]


def test_a_late_event_of_an_abandoned_attempt_is_ignored() -> None:
    wire = Wire()
    executor = _executor(wire)
    executor.submit("sq-1", "edge-1", square, (3,), {})
    executor.submit("sq-1", "cloud-1", square, (3,), {})  # placed again: attempt 2
    late = TaskEvent("finished", "wf", "sq-1", 1, "edge-1", time.time(), value=9)
    wire.queued = [Record(TASK_EVENTS_TOPIC, late.encode())]
    assert executor.wait(0.1) == []


def test_task_reference_names_module_file_and_qualname() -> None:
    assert task_reference(square) == (__name__, __file__, "square")


def test_a_finished_event_brings_its_measurements_and_output_to_the_session() -> None:
    wire = Wire()
    executor = PullExecutor(
        [NodeInfo("edge-1")],
        kafka_options={},
        workflow_id="wf",
        capture=LogCapture(max_bytes_per_stream=10 << 20, redact_env=("TOKEN",)),
        clients=(wire, wire),
    )
    executor.submit("sq-1", "edge-1", square, (3,), {})
    assignment = Assignment.decode(wire.sent[0][1])
    # Kept under the broker's message size, whatever the local capture allows.
    assert assignment.max_output_bytes == MAX_WIRE_OUTPUT_BYTES
    assert assignment.redact_env == ["TOKEN"]
    now = time.time()
    done = TaskEvent(
        "finished",
        "wf",
        "sq-1",
        1,
        "edge-1",
        now,
        now - 2.0,
        2.0,
        cpu_s=1.5,
        peak_memory_bytes=30 << 20,
        read_bytes=100,
        written_bytes=200,
        value=9,
        stdout="squared\n",
        stderr_dropped_bytes=7,
    )
    wire.queued = [Record(TASK_EVENTS_TOPIC, done.encode())]
    [completion] = executor.wait(1.0)
    assert completion.record == done
    assert completion.usage == TaskUsage(1.5, 100, 200, 30 << 20)
    assert completion.output == TaskOutput("squared\n", "", 0, 7)


def test_heartbeats_from_before_the_run_do_not_count_its_worker_as_silent() -> None:
    wire = Wire()
    executor = _executor(wire, timeout_s=5.0)
    # The run's consumer replays the topic from its start: an hour-old beat comes first.
    wire.queued = [Record(HEARTBEATS_TOPIC, WorkerHeartbeat("edge-1", time.time() - 3600).encode())]
    executor.submit("sq-1", "edge-1", square, (3,), {})
    assert executor.wait(0.05) == []
    assert {n.node_id for n in executor.live(executor.nodes())} == {"edge-1", "cloud-1"}


def test_a_workflow_script_run_by_a_relative_path_is_referenced_by_its_absolute_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flow.py").write_text("def step(x):\n    return x\n")
    monkeypatch.chdir(tmp_path)
    step = runpy.run_path("flow.py", run_name="__main__")["step"]
    assert task_reference(step) == ("__main__", str(tmp_path / "flow.py"), "step")


def test_the_producers_take_their_durability_from_the_kafka_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kafka

    from agents.worker._worker import _kafka_clients
    from continuum.config import KafkaSettings
    from scheduler_api.executors import kafka_options

    made: dict[str, dict[str, object]] = {}

    def recorder(kind: str) -> object:
        def make(*_topics: object, **options: object) -> object:
            made[kind] = options
            return object()

        return make

    monkeypatch.setattr(kafka, "KafkaProducer", recorder("producer"))
    monkeypatch.setattr(kafka, "KafkaConsumer", recorder("consumer"))
    for key in [k for k in os.environ if k.startswith("CONTINUUM_")]:
        monkeypatch.delenv(key)
    config = tmp_path / "continuum.yaml"
    config.write_text(
        "kafka: {bootstrap_servers: 'b1:9092,b2:9092', acks: all, enable_idempotence: true}\n"
    )
    # The pull executor, from continuum.yaml...
    PullExecutor([], kafka_options=kafka_options(config))
    assert made["producer"]["acks"] == "all"
    assert made["producer"]["enable_idempotence"] is True
    assert made["producer"]["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert "acks" not in made["consumer"]
    assert "enable_idempotence" not in made["consumer"]
    # No file yet (no `continuum up` has run): the defaults and the environment.
    monkeypatch.setenv("CONTINUUM_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    assert kafka_options(tmp_path / "absent.yaml")["bootstrap_servers"] == ["env:9092"]
    # ...and the worker, from the same section.
    _kafka_clients("n1", KafkaSettings(acks="all", enable_idempotence=True))
    assert (made["producer"]["acks"], made["producer"]["enable_idempotence"]) == ("all", True)
    # The local profile's defaults stay: acks=1, no idempotence.
    _kafka_clients("n1", KafkaSettings())
    assert (made["producer"]["acks"], made["producer"]["enable_idempotence"]) == (1, False)


class FakeCatalogue:
    """The catalogue's two questions, answered from a dict (the HTTP client has its own test)."""

    def __init__(self, records: dict[str, DatasetRecord]) -> None:
        self.records = records
        self.recorded: list[Dataset] = []

    def locate(self, dataset_id: str) -> DatasetRecord | None:
        return self.records.get(dataset_id)

    def record(self, dataset: Dataset) -> None:
        self.recorded.append(dataset)


def reads_length(reads: Dataset) -> int:
    return reads.size_bytes


def test_datasets_go_with_where_the_catalogue_and_the_workers_say_copies_are() -> None:
    wire = Wire()
    store = "http://10.213.0.1:9471/v1/data/reads"
    catalogue = FakeCatalogue(
        {"reads": DatasetRecord("reads", 10, nodes=("hpc-1",), urls=(store,))}
    )
    executor = PullExecutor(
        [NodeInfo("edge-1"), NodeInfo("cloud-1"), NodeInfo("hpc-1")],
        kafka_options={},
        workflow_id="wf",
        catalogue=catalogue,
        clients=(wire, wire),
    )
    now = time.time()
    wire.queued = [
        Record(
            HEARTBEATS_TOPIC,
            WorkerHeartbeat("hpc-1", now, data_url="http://10.213.3.2:9470").encode(),
        ),
        Record(
            HEARTBEATS_TOPIC,
            WorkerHeartbeat("cloud-1", now, data_url="http://10.213.2.2:9470").encode(),
        ),
        Record(HEARTBEATS_TOPIC, WorkerHeartbeat("edge-1", now).encode()),  # behind NAT
    ]
    executor.submit("len-1", "edge-1", reads_length, (Dataset("reads", nodes=("cloud-1",)),), {})
    assignment = Assignment.decode(wire.sent[-1][1])
    [reads] = datasets_in(assignment.args)
    assert reads.urls == (
        store,  # the catalogue's copies
        "http://10.213.2.2:9470/v1/data/reads",  # the workflow said cloud-1 holds it
        "http://10.213.3.2:9470/v1/data/reads",  # the catalogue said hpc-1 does
    )
    assert reads.nodes == ("cloud-1", "hpc-1")

    made = Dataset("counts", 7, nodes=("edge-1",), urls=("http://10.213.0.1:9471/v1/data/counts",))
    value = to_wire({"n": 7, "counts": made, "reads": reads})
    done = TaskEvent("finished", "wf", "len-1", 1, "edge-1", time.time(), value=value)
    wire.queued = [Record(TASK_EVENTS_TOPIC, done.encode())]
    [completion] = executor.wait(1.0)
    assert completion.value["counts"] == made  # a Dataset again, for the tasks that read it
    assert completion.value["n"] == 7
    assert catalogue.recorded == [made]  # the output, not the input handed back


def test_a_completion_read_while_submitting_comes_out_of_the_next_wait() -> None:
    wire = Wire()
    executor = _executor(wire)
    executor.submit("sq-1", "edge-1", square, (3,), {})
    done = TaskEvent("finished", "wf", "sq-1", 1, "edge-1", time.time(), value=9)
    unreadable = TaskEvent(
        "finished", "wf", "sq-2", 1, "edge-1", time.time(), value={"__dataset__": {}}
    )
    wire.queued = [Record(TASK_EVENTS_TOPIC, done.encode())]
    # Submitting a task with a dataset reads what has arrived: sq-1's end among it.
    executor.submit("len-1", "edge-1", reads_length, (Dataset("reads"),), {})
    executor.submit("sq-2", "edge-1", square, (4,), {})
    wire.queued = [Record(TASK_EVENTS_TOPIC, unreadable.encode())]
    completions = {c.task_id: c for c in executor.wait(1.0)}
    assert completions["sq-1"].value == 9
    assert not completions["sq-2"].ok  # a result that cannot be read fails its attempt
    assert "unreadable" in completions["sq-2"].error
