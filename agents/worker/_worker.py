"""The pull-mode worker loop: assignments in from Kafka, task events and heartbeats out.

It only ever dials out (to the brokers), so a node behind NAT takes work as well as any::

    worker = Worker(identity.node_id, kafka, WorkerSettings())
    worker.run(stop_event)

Offsets are committed as soon as assignments are handed to the pool: a worker that dies takes
its running attempts with it, and the executor sees that from the missing heartbeats and places
them again (at most once per worker, never twice at once).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from agents._otel import KafkaSettings, parse_listen
from agents.worker._data import DataDirectory, DataError, DataServer
from agents.worker._execute import Outcome, run_attempt
from agents.worker._settings import DataSettings, WorkerSettings
from agents.worker._staging import TaskData
from continuum.config import ConfigError
from scheduler_api.workflow._events import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    EventError,
    TaskEvent,
    WorkerHeartbeat,
    assignments_topic,
)
from scheduler_api.workflow._wire import datasets_in

__all__ = ["Worker", "data_token", "start_data_server"]

_log = logging.getLogger(__name__)
_SEND_TIMEOUT_S = 10.0
_METADATA_MAX_AGE_MS = 2000


class _Producer(Protocol):
    def send(self, topic: str, value: bytes, key: bytes) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...


class _Consumer(Protocol):
    def poll(self, timeout_ms: int) -> dict[Any, list[Any]]: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


def _kafka_clients(node: str, kafka: KafkaSettings) -> tuple[_Producer, _Consumer]:
    from kafka import KafkaConsumer, KafkaProducer

    options = kafka.client_options()
    # Durability as the kafka section says, as for every producer: the local profile has no
    # idempotence (against a Tansu restart it turns fatal, docs/platform.md) and acks=1 with
    # replay; a production profile sets acks=all and idempotence (docs/reliability.md).
    producer = KafkaProducer(
        enable_idempotence=kafka.enable_idempotence, acks=kafka.acks, linger_ms=0, **options
    )
    consumer = KafkaConsumer(
        assignments_topic(node),
        group_id=f"continuum-worker-{node}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        # A topic made after subscribing (the first event, the first assignment) is seen
        # within seconds, not at the default five-minute metadata refresh.
        metadata_max_age_ms=_METADATA_MAX_AGE_MS,
        **options,
    )
    return producer, consumer


def start_data_server(
    data: DataSettings, held: DataDirectory, listen: str, *, key: str, writable: bool = False
) -> DataServer:
    """A data server on ``listen`` with ``data``'s token and TLS, started.

    Raises:
        ConfigError: it cannot serve there, or its files cannot be read (naming ``key``, or
            ``worker.data.token_file``).
    """
    host, port = parse_listen(listen)
    token = data_token(data)
    try:
        return DataServer(
            held,
            host,
            port,
            token=token,
            writable=writable,
            tls_certfile=data.tls_certfile,
            tls_keyfile=data.tls_keyfile,
        ).start()
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"{key}: cannot serve on {listen}: {err}") from None


def _failed(error: str, started_s: float) -> Outcome:
    """An attempt that ended before (or without) its task running."""
    return Outcome(False, None, error, started_s, time.time() - started_s, 0, 0, 0, 0)


def data_token(data: DataSettings) -> str | None:
    """The ``worker.data`` token, or a config error naming ``worker.data.token_file``."""
    try:
        return data.token()
    except OSError as err:
        raise ConfigError(f"worker.data.token_file: {data.token_file}: {err.strerror}") from None
    except ValueError as err:
        raise ConfigError(str(err)) from None


class Worker:
    """Takes a node's assignments and runs them.

    Args:
        node: this node's id (the identity's ``node_id``).
        kafka: the brokers (the same connection settings the agents use).
        settings: the ``worker`` section.
        cpu_capacity: the node's cores (for ``max_parallel: 0``).
        clients: producer and consumer (tests inject them; default: kafka-python).
    """

    def __init__(
        self,
        node: str,
        kafka: KafkaSettings,
        settings: WorkerSettings,
        *,
        cpu_capacity: float = 1.0,
        clients: tuple[_Producer, _Consumer] | None = None,
    ) -> None:
        self.node = node
        self.settings = settings
        self._producer, self._consumer = clients or _kafka_clients(node, kafka)
        parallel = settings.max_parallel or max(1, math.ceil(cpu_capacity - 1e-9))
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="task")
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self.rejected = 0
        self.send_errors = 0
        self.data = TaskData(node, DataDirectory(settings.workdir / "data"), settings.data)
        self._data_server: DataServer | None = None

    def _serve_data(self) -> None:
        """Offer this node's datasets to peers, where ``worker.data.listen`` says."""
        data = self.settings.data
        if not data.listen:
            return
        self._data_server = start_data_server(
            data, self.data.held, data.listen, key="worker.data.listen"
        )
        _log.info("serving %s's datasets at %s", self.node, data.base_url)

    def run(self, stop: threading.Event) -> None:
        """Poll, dispatch and beat until ``stop`` is set; then finish running attempts.

        Raises:
            ConfigError: ``worker.data.listen`` cannot be served on, or its token or TLS
                files cannot be read (the message names the key).
        """
        self._serve_data()
        beat = threading.Thread(target=self._beat, args=(stop,), name="heartbeat", daemon=True)
        beat.start()
        try:
            while not stop.is_set():
                try:
                    batches = self._consumer.poll(timeout_ms=self.settings.poll_ms)
                except Exception:  # a broker hiccup: log, wait, go on
                    _log.warning("polling assignments failed; retrying", exc_info=True)
                    stop.wait(1.0)
                    continue
                dispatched = False
                for records in batches.values():
                    for record in records:
                        self._dispatch(record.value)
                        dispatched = True
                if dispatched:
                    self._commit()
        finally:
            self._pool.shutdown(wait=True)
            beat.join(self.settings.heartbeat_s + 1.0)
            self._consumer.close()
            self._producer.flush(_SEND_TIMEOUT_S)
            self._producer.close(_SEND_TIMEOUT_S)
            if self._data_server is not None:
                self._data_server.stop()

    def _commit(self) -> None:
        try:
            self._consumer.commit()
        except Exception:
            _log.warning("committing assignment offsets failed", exc_info=True)

    def _dispatch(self, raw: bytes) -> None:
        try:
            assignment = Assignment.decode(raw)
        except EventError as err:
            self.rejected += 1
            _log.warning(
                "dropping an assignment that does not parse (%d so far): %s", self.rejected, err
            )
            return
        if assignment.node != self.node:
            self.rejected += 1
            _log.warning("dropping an assignment for node %s", assignment.node)
            return
        self._pool.submit(self._attempt, assignment)

    def _attempt(self, assignment: Assignment) -> None:
        key = f"{assignment.workflow}/{assignment.task}/{assignment.attempt}"
        with self._lock:
            self._running.add(key)
        started_s = time.time()
        try:
            started = TaskEvent.started(
                workflow=assignment.workflow,
                task=assignment.task,
                attempt=assignment.attempt,
                node=self.node,
            )
            self._send(TASK_EVENTS_TOPIC, assignment.workflow, started.encode())
            try:
                outcome = self._run_with_data(assignment)
            except Exception as err:
                # Whatever went wrong, the attempt ends in a record: a worker that beats but
                # never reports would hold its task forever.
                _log.exception("attempt %s could not be run", key)
                outcome = _failed(f"the worker could not run the attempt: {err!r}", started_s)
            self._send(TASK_EVENTS_TOPIC, assignment.workflow, outcome.event(assignment).encode())
            _log.info(
                "%s %s in %.3f s", key, "finished" if outcome.ok else "failed", outcome.wall_s
            )
        finally:
            with self._lock:
                self._running.discard(key)

    def _run_with_data(self, assignment: Assignment) -> Outcome:
        """Fetch the inputs, run the attempt, publish its outputs; a data failure fails it."""
        started_s = time.time()
        try:
            inputs = datasets_in([assignment.args, assignment.kwargs])  # read once, used twice
            fetched = self.data.stage_in(inputs)
        except (DataError, EventError, OSError) as err:
            return _failed(str(err), started_s)
        outcome = run_attempt(assignment, self.settings.workdir, self.data.held.root)
        outcome = dataclasses.replace(outcome, fetched_bytes=fetched)
        if not outcome.ok:
            return outcome
        try:
            value, published = self.data.publish(
                outcome.value,
                inputs={d.dataset_id for d in inputs},
                workdir=self.settings.workdir,
            )
        except (DataError, EventError, OSError) as err:
            return dataclasses.replace(outcome, ok=False, value=None, error=str(err))
        return dataclasses.replace(outcome, value=value, published_bytes=published)

    def _beat(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._lock:
                running = sorted(self._running)
            beat = WorkerHeartbeat(self.node, time.time(), running, self.settings.data.base_url)
            self._send(HEARTBEATS_TOPIC, self.node, beat.encode(), flush=False)
            stop.wait(self.settings.heartbeat_s)

    def _send(self, topic: str, key: str, value: bytes, *, flush: bool = True) -> None:
        try:
            self._producer.send(topic, value=value, key=key.encode())
            if flush:
                self._producer.flush(_SEND_TIMEOUT_S)
        except Exception:
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 100 == 0:
                _log.warning(
                    "sending to %s failed (%d so far)", topic, self.send_errors, exc_info=True
                )
