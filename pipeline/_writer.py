"""Remote-write delivery: sharded senders, retries, and the split-and-dead-letter path.

Series are sharded by node over ``shards`` sender threads; each sends its batches one at a time,
in order, so a series' samples reach Prometheus in the order they were read. A batch is retried
with exponential backoff and jitter on 5xx and connection errors, without limit, until it is
acknowledged or the writer is aborted (then its offsets are never committed). A 4xx, or a 5xx
that will never succeed (``too old sample``), is never retried: the batch is bisected down to
the parts Prometheus refuses, so one bad record cannot take good ones down with it::

    writer = RemoteWriter(url, shards=4, on_done=done, on_reject=reject, metrics=metrics)
    writer.start()
    writer.export(Batch(shard=0, parts=[Part(samples, record)], ticket=ticket))
    writer.shutdown(30_000)      # writer.clean: every queued batch was handled in time

The writer has the shape every shipper has (:class:`continuum._sink.Sink`).
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from continuum._backoff import Backoff
from continuum._http_auth import HttpAuth
from continuum._sink import ExportResult, Sink
from pipeline._ledger import Ticket
from pipeline._remote_write import REMOTE_WRITE_HEADERS, RemoteWriteEncoder, snappy_block
from pipeline._samples import Sample
from pipeline._selfmetrics import SelfMetrics

__all__ = ["Batch", "Part", "RecordRef", "RemoteWriter", "Ticket", "is_permanent_rejection"]

_log = logging.getLogger(__name__)

# 5xx answers that retrying can never fix (docs/platform.md: out-of-window samples give 500 with a
# window configured; duplicate label names give 500).
_PERMANENT_5XX = ("too old", "out of bounds", "out of order", "duplicate label")
# 4xx answers about the request's credentials or rate, not its samples: refused credentials are
# fixed in configuration, and until then the samples wait in Kafka instead of dead-lettering.
_RETRIED_4XX = frozenset({401, 403, 407, 408, 429})


@dataclass(slots=True)
class RecordRef:
    """Enough of a Kafka record to dead-letter it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(slots=True)
class Part:
    """Samples of one record for one node (``record`` None for derived aggregates)."""

    samples: list[Sample]
    record: RecordRef | None
    newest_ts_ms: int


@dataclass(slots=True)
class Batch:
    """One remote-write request's worth of parts, for one shard."""

    shard: int
    parts: list[Part]
    ticket: Ticket
    samples: int = 0


def is_permanent_rejection(status: int, body: str) -> bool:
    """Tell whether an answer means the request can never succeed as it is."""
    if 400 <= status < 500:
        return status not in _RETRIED_4XX
    lowered = body.lower()
    return status >= 500 and any(marker in lowered for marker in _PERMANENT_5XX)


class _AbortedError(Exception):
    """The writer was aborted while a batch was still unacknowledged."""


class RemoteWriter:
    """Sends batches to a remote-write endpoint from one thread per shard.

    Args:
        url: the remote-write URL.
        shards: sender threads (bounded concurrency).
        on_done: called from a sender thread when a batch is acknowledged or fully handled.
        on_reject: called with the batch and a part of it that Prometheus refused for good
            (status, answer body), before the batch is reported done.
        metrics: self-metrics to update.
        timeout_s: per-request timeout.
        initial_backoff_s: first retry delay; doubles per attempt up to ``max_backoff_s``.
        max_backoff_s: retry delay cap.
        auth: basic auth or a bearer token, and TLS options (``pipeline.remote_write_auth``);
            its secret files are read here, once.

    Raises:
        HttpAuthError: a secret, CA or certificate file of ``auth`` cannot be read.
    """

    def __init__(
        self,
        url: str,
        *,
        shards: int,
        on_done: Callable[[Batch], None],
        on_reject: Callable[[Batch, Part, int, str], None],
        metrics: SelfMetrics,
        timeout_s: float = 10.0,
        initial_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        auth: HttpAuth | None = None,
    ):
        auth = auth or HttpAuth()
        authorization = auth.authorization("pipeline.remote_write_auth")
        # Kept out of logs: nothing logs the headers, and errors name the files, not secrets.
        self._headers = dict(REMOTE_WRITE_HEADERS)
        if authorization is not None:
            self._headers["Authorization"] = authorization
        self._ssl_context = auth.ssl_context("pipeline.remote_write_auth")
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self.shards = shards
        self._on_done = on_done
        self._on_reject = on_reject
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._queues: list[queue.SimpleQueue[Batch | None]] = [
            queue.SimpleQueue() for _ in range(shards)
        ]
        self._abort = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"remote-write-{i}", daemon=True)
            for i in range(shards)
        ]
        self.consecutive_failures = 0
        #: After :meth:`shutdown`: every queued batch was handled before its deadline.
        self.clean = False
        self._closing = False
        # Batches exported and not yet acknowledged or rejected: force_flush waits on the
        # condition until none is left, woken by the sender that handles the last.
        self._unhandled = 0
        self._handled = threading.Condition()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def export(self, batch: Batch) -> ExportResult:
        """Queue a batch on its shard (the caller bounds what is outstanding)."""
        if self._closing:
            return ExportResult.FAILURE
        with self._handled:
            self._unhandled += 1
        self._queues[batch.shard].put(batch)
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Wait until every queued batch is handled (acknowledged or rejected)."""
        with self._handled:
            return self._handled.wait_for(lambda: not self._unhandled, timeout_millis / 1000)

    def _handled_one(self) -> None:
        with self._handled:
            self._unhandled -= 1
            if not self._unhandled:
                self._handled.notify_all()

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Send what is queued, then stop; abort what is left after the time.

        :attr:`clean` then tells whether every queued batch was handled before the deadline.
        """
        if self._closing:
            return
        self._closing = True
        for q in self._queues:
            q.put(None)
        deadline = time.monotonic() + timeout_millis / 1000
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        clean = not any(t.is_alive() for t in self._threads)
        if not clean:
            self._abort.set()
            for thread in self._threads:
                thread.join(self._timeout_s + 1.0)
        self.clean = clean

    # -- sender threads -------------------------------------------------------------------

    def _run(self, shard: int) -> None:
        encoder = RemoteWriteEncoder()
        connection: list[http.client.HTTPConnection | None] = [None]
        q = self._queues[shard]
        while True:
            batch = q.get()
            if batch is None:
                break
            try:
                self._deliver(batch, batch.parts, encoder, connection)
            except _AbortedError:
                self._handled_one()
                break
            except Exception:  # a sender thread must not die: count, log, keep going
                _log.exception("remote-write sender failed on a batch; it will not be committed")
            try:
                self._on_done(batch)
            finally:
                # Handled once its acknowledgement has run: a flush then sees it settled.
                self._handled_one()
        if connection[0] is not None:
            connection[0].close()

    def _deliver(
        self,
        batch: Batch,
        parts: list[Part],
        encoder: RemoteWriteEncoder,
        connection: list[http.client.HTTPConnection | None],
    ) -> None:
        samples = [s for part in parts for s in part.samples]
        if not samples:
            return
        status, body = self._post_until_answered(encoder.encode_pairs(samples), connection)
        if 200 <= status < 300:
            now_s = time.time()
            self._metrics.samples_written.inc(len(samples))
            for part in parts:
                if part.newest_ts_ms:
                    self._metrics.lag.observe(max(now_s - part.newest_ts_ms / 1000.0, 0.0))
            return
        if len(parts) > 1:
            # Bisect: good parts still travel in large requests, a bad one is isolated in
            # log2(parts) steps, and the halves go in order so series order is kept.
            middle = len(parts) // 2
            self._deliver(batch, parts[:middle], encoder, connection)
            self._deliver(batch, parts[middle:], encoder, connection)
            return
        self._on_reject(batch, parts[0], status, body)

    def _post_until_answered(
        self, body: bytes, connection: list[http.client.HTTPConnection | None]
    ) -> tuple[int, str]:
        payload = snappy_block(body)
        attempt = 0
        backoff = Backoff(self._initial_backoff_s, self._max_backoff_s)
        while True:
            if self._abort.is_set():
                raise _AbortedError
            started = time.perf_counter()
            try:
                status, answer = self._post(payload, connection)
            except (OSError, http.client.HTTPException) as err:
                self._metrics.requests.labels("error").inc()
                if connection[0] is not None:
                    connection[0].close()
                    connection[0] = None
                if attempt == 0:
                    _log.warning("remote write failed, retrying", extra={"error": str(err)})
            else:
                self._metrics.write_duration.observe(time.perf_counter() - started)
                self._metrics.requests.labels(f"{status // 100}xx").inc()
                if 200 <= status < 300 or is_permanent_rejection(status, answer):
                    self.consecutive_failures = 0
                    return status, answer
                if attempt == 0:
                    _log.warning(
                        "remote write answered %d, retrying", status, extra={"answer": answer[:200]}
                    )
            attempt += 1
            self.consecutive_failures += 1
            self._metrics.retries.inc()
            if backoff.wait(self._abort):
                raise _AbortedError

    def _post(
        self, payload: bytes, connection: list[http.client.HTTPConnection | None]
    ) -> tuple[int, str]:
        conn = connection[0]
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout_s, context=self._ssl_context
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
            connection[0] = conn
        conn.request("POST", self._path, body=payload, headers=self._headers)
        response = conn.getresponse()
        answer = response.read()
        return response.status, answer.decode("utf-8", "replace")


if TYPE_CHECKING:

    def _is_a_sink(sender: RemoteWriter) -> Sink[Batch]:
        """Checked by mypy: RemoteWriter has the shape of every shipper."""
        return sender
