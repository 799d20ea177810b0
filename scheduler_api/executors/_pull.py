"""The ``pull`` executor: tasks go to each node's worker over Kafka; workers report back.

A worker (``continuum agent worker``) only dials out to the brokers, so nodes behind NAT take
work like any other. ``submit`` publishes an ``Assignment`` on the node's topic; ``wait`` reads
the task events (started, finished, failed) and the workers' heartbeats. A node whose worker
has been silent for ``heartbeat_timeout_s`` is dead to this executor: its running attempts end
as failed, and ``live`` leaves it out of the node list, so the session re-places its tasks::

    executor = PullExecutor(nodes, kafka_options={"bootstrap_servers": ["10.213.0.1:9092"]})
    executor.submit("square-1", "edge-1", square, (3,), {})
    [completion] = executor.wait(timeout_s=30.0)

Arguments and results travel as JSON; a task is found on the worker by its module (or, for a
workflow script, its file) and qualified name. A ``Dataset`` among the arguments goes with
the places a copy can be fetched from: the URLs it carries, those the data catalogue records
for it, and the data servers of the nodes said to hold it (each worker's heartbeat says where
it serves). The worker fetches it over its own link; a dataset a task returns comes back
naming its node and URLs, and is recorded in the catalogue.

Each ended attempt's task event carries what it used and the tails of its stdout and stderr, so
history, efficiency and task logs read the same record here as behind the local and Ray
executors.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from continuum.config import KafkaSettings, load_section
from scheduler_api.executors._base import Completion
from scheduler_api.executors._capture import LogCapture
from scheduler_api.executors._catalogue import Catalogue
from scheduler_api.executors._record import RunRecords, completion_of
from scheduler_api.placement import NodeInfo
from scheduler_api.workflow._dsl import Dataset
from scheduler_api.workflow._events import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    EventError,
    TaskEvent,
    WorkerHeartbeat,
    assignments_topic,
)
from scheduler_api.workflow._wire import data_url, datasets_in, from_wire, map_datasets, to_wire

__all__ = ["MAX_WIRE_OUTPUT_BYTES", "PullExecutor", "kafka_options", "task_reference"]

_log = logging.getLogger(__name__)
DEFAULT_HEARTBEAT_TIMEOUT_S = 6.0
#: Most output kept per stream per attempt on the wire: two streams and the record stay under
#: the broker's default 1 MiB message size, whatever ``LogCapture`` allows locally.
MAX_WIRE_OUTPUT_BYTES = 256 << 10
_POLL_SLICE_MS = 200
_METADATA_MAX_AGE_MS = 2000


_N = TypeVar("_N")
#: Options of :func:`kafka_options` that only a producer takes.
_PRODUCER_ONLY = ("acks", "enable_idempotence")


def kafka_options(config_file: Path | None) -> dict[str, Any]:
    """The workers' brokers and how to produce to them, from the ``kafka`` section of
    continuum.yaml (the one `continuum up` writes, when it is there) and ``CONTINUUM_KAFKA__*``:
    the connection and security options, with ``acks`` and ``enable_idempotence`` for the
    producer.

    Raises:
        ConfigError: the section has an unknown key or a bad value.
    """
    # The stack's file is there only while `continuum up` has run: without it, the defaults
    # and the environment.
    present = config_file if config_file is not None and config_file.is_file() else None
    kafka = load_section(KafkaSettings, "kafka", present)
    return {
        **kafka.client_options(default_request_timeout_ms=None),
        "acks": kafka.acks,
        "enable_idempotence": kafka.enable_idempotence,
    }


def _node_id(node: Any) -> str:
    # Engine nodes name it node_id, the inventory's views id.
    return str(getattr(node, "node_id", None) or node.id)


def task_reference(function: Any) -> tuple[str, str, str]:
    """(module, file, qualified name) by which a worker finds a task function."""
    plain = getattr(function, "function", function)
    module = str(getattr(plain, "__module__", "") or "")
    file = str(getattr(plain, "__globals__", {}).get("__file__") or "")
    # Absolute: a workflow script run by a relative path is read by workers from their own
    # working directories.
    return module, str(Path(file).resolve()) if file else "", str(plain.__qualname__)


@dataclass(slots=True)
class _Attempt:
    task_id: str
    node_id: str
    attempt: int
    submitted_s: float
    started_s: float | None = None
    inputs: set[str] = field(default_factory=set)


class PullExecutor(RunRecords):
    """Dispatches tasks to pull-mode workers through Kafka.

    Args:
        nodes: the nodes (from the API); each needs a running worker.
        kafka_options: kafka-python connection options (``bootstrap_servers`` and security).
        workflow_id: this run's id on the wire (default: a fresh random one).
        heartbeat_timeout_s: silence after which a worker's node counts as dead.
        capture: how much of each attempt's output the workers keep (at most
            ``MAX_WIRE_OUTPUT_BYTES`` per stream) and whose values they redact.
        catalogue: the data catalogue, to locate input datasets and record outputs (None: a
            dataset is fetched only from where the workflow and the workers say it is).
        clients: producer and consumer (tests inject them; default: kafka-python).
    """

    name = "pull"

    def __init__(
        self,
        nodes: list[NodeInfo],
        *,
        kafka_options: dict[str, Any],
        workflow_id: str | None = None,
        heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
        capture: LogCapture | None = None,
        catalogue: Catalogue | None = None,
        clients: tuple[Any, Any] | None = None,
    ) -> None:
        self._nodes = list(nodes)
        super().__init__(workflow_id)
        self._capture = capture or LogCapture()
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._producer, self._consumer = clients or self._clients(kafka_options)
        self._running: dict[str, _Attempt] = {}
        self._last_beat: dict[str, float] = {}
        #: node -> the base URL its worker serves datasets at, from its heartbeats.
        self._data_urls: dict[str, str] = {}
        self._catalogue = catalogue
        #: Completions read while submitting (see ``_drain``), handed out by the next wait.
        self._ready: list[Completion] = []
        self._started_s = time.time()

    def _clients(self, options: dict[str, Any]) -> tuple[Any, Any]:
        from kafka import KafkaConsumer, KafkaProducer

        # The producer's durability follows the kafka section; the consumer takes neither key.
        durability = {k: options[k] for k in _PRODUCER_ONLY if k in options}
        options = {k: v for k, v in options.items() if k not in _PRODUCER_ONLY}
        producer = KafkaProducer(
            **{"acks": 1, "enable_idempotence": False, **durability}, linger_ms=0, **options
        )
        # A group of this run alone, from the earliest offset: no event is missed between
        # joining and the first submit; other runs' events are skipped by workflow id.
        consumer = KafkaConsumer(
            TASK_EVENTS_TOPIC,
            HEARTBEATS_TOPIC,
            group_id=f"continuum-run-{self.workflow_id}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            # A topic made after subscribing (the first event, the first assignment) is seen
            # within seconds, not at the default five-minute metadata refresh.
            metadata_max_age_ms=_METADATA_MAX_AGE_MS,
            **options,
        )
        return producer, consumer

    def nodes(self) -> list[NodeInfo]:
        return list(self._nodes)

    def live(self, nodes: Sequence[_N]) -> list[_N]:
        """The nodes (``NodeInfo`` or node views) whose worker is alive, or not yet overdue."""
        return [n for n in nodes if not self._silent(_node_id(n))]

    def _silent(self, node_id: str) -> bool:
        now = time.time()
        last = self._last_beat.get(node_id)
        # Not heard since the run began (the consumer replays older beats first, from the
        # earliest offset): give it a timeout from the start of the run.
        if last is None or last < self._started_s:
            return now - self._started_s > self.heartbeat_timeout_s * 3
        return now - last > self.heartbeat_timeout_s

    def submit(
        self,
        task_id: str,
        node_id: str,
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        attempt = self.next_key(task_id, node_id).attempt
        module, file, qualname = task_reference(function)
        wire_args, wire_kwargs = to_wire(list(args)), to_wire(dict(kwargs))
        if datasets_in([wire_args, wire_kwargs]):
            self._drain()  # the latest heartbeats say where each node serves its data
            wire_args = map_datasets(wire_args, self._located)
            wire_kwargs = map_datasets(wire_kwargs, self._located)
        assignment = Assignment(
            self.workflow_id,
            task_id,
            attempt,
            node_id,
            module=module,
            file=file,
            function=qualname,
            args=wire_args,
            kwargs=wire_kwargs,
            max_output_bytes=min(self._capture.max_bytes_per_stream, MAX_WIRE_OUTPUT_BYTES),
            redact_env=list(self._capture.redact_env),
        )
        self._producer.send(
            assignments_topic(node_id), value=assignment.encode(), key=task_id.encode()
        )
        self._producer.flush(10.0)
        inputs = {d.dataset_id for d in datasets_in([wire_args, wire_kwargs])}
        self._running[task_id] = _Attempt(task_id, node_id, attempt, time.time(), inputs=inputs)

    def _located(self, dataset: Dataset) -> Dataset:
        """The dataset with every place a copy can be fetched from: its own URLs, the
        catalogue's, then the data servers of the nodes holding it."""
        urls, nodes = list(dataset.urls), list(dataset.nodes)
        record = self._catalogue.locate(dataset.dataset_id) if self._catalogue else None
        if record is not None:
            urls += record.urls
            nodes += record.nodes
        for node in nodes:
            if base := self._data_urls.get(node):
                urls.append(data_url(base, dataset.dataset_id))
        return dataclasses.replace(
            dataset, nodes=tuple(dict.fromkeys(nodes)), urls=tuple(dict.fromkeys(urls))
        )

    def _drain(self, timeout_ms: int = 0) -> list[Completion]:
        """Read what has arrived (heartbeats, events), keeping completions for ``wait``."""
        for records in self._consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                self._ready.extend(self._on_record(record.topic, record.value))
        return self._ready

    def wait(self, timeout_s: float) -> list[Completion]:
        if not self._running and not self._ready:
            return []
        deadline = time.monotonic() + timeout_s
        while True:
            self._drain(_POLL_SLICE_MS)
            self._ready.extend(self._overdue())
            if self._ready or time.monotonic() >= deadline:
                out, self._ready = self._ready, []
                return out

    def _on_record(self, topic: str, raw: bytes) -> list[Completion]:
        try:
            if topic == HEARTBEATS_TOPIC:
                beat = WorkerHeartbeat.decode(raw)
                self._last_beat[beat.node] = max(self._last_beat.get(beat.node, 0.0), beat.at_s)
                if beat.data_url:
                    self._data_urls[beat.node] = beat.data_url
                return []
            event = TaskEvent.decode(raw)
        except EventError as err:
            _log.warning("skipping a record on %s that does not parse: %s", topic, err)
            return []
        if event.workflow != self.workflow_id:
            return []
        self.events.append(event)
        self._last_beat[event.node] = max(self._last_beat.get(event.node, 0.0), event.at_s)
        running = self._running.get(event.task)
        if running is None or running.attempt != event.attempt:
            return []  # an attempt this run already gave up on
        if event.kind == "started":
            running.started_s = event.started_s
            return []
        del self._running[event.task]
        completion = completion_of(event)
        if event.kind == "finished":
            try:
                completion = dataclasses.replace(completion, value=self._outputs(event, running))
            except EventError as err:  # a result that cannot be read is the attempt's failure
                completion = dataclasses.replace(
                    completion, ok=False, value=None, error=f"its result is unreadable: {err}"
                )
        return [completion]

    def _outputs(self, event: TaskEvent, attempt: _Attempt) -> Any:
        """The attempt's result as the workflow sees it, its new datasets catalogued."""
        if self._catalogue is not None:
            for dataset in datasets_in(event.value):
                if dataset.dataset_id not in attempt.inputs and dataset.urls:
                    self._catalogue.record(dataset)
        return from_wire(event.value)

    def _overdue(self) -> list[Completion]:
        out = []
        for task_id, attempt in list(self._running.items()):
            if not self._silent(attempt.node_id):
                continue
            del self._running[task_id]
            error = (
                f"node {attempt.node_id}'s worker sent no heartbeat for over "
                f"{self.heartbeat_timeout_s:g} s"
            )
            started = attempt.started_s or attempt.submitted_s
            out.append(
                Completion(task_id, attempt.node_id, False, None, error, started, time.time())
            )
        return out

    def close(self) -> None:
        self._running.clear()
        for client in (self._consumer, self._producer):
            try:
                client.close()
            except Exception:  # closing is best effort: the run is over either way
                _log.debug("closing a Kafka client failed", exc_info=True)
