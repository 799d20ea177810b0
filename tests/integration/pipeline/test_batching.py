"""Request size and the pending bound hold however many records one poll returns."""

from __future__ import annotations

import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cramjam
import pytest

from continuum.services import TansuBroker, free_port, wait_until
from pipeline import Worker, WorkerSettings
from pipeline._selfmetrics import SelfMetrics
from tests.unit.pipeline.otlp_factory import Payload

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python 3.0.12 at import
    from kafka import KafkaProducer

RECORDS = 200
POINTS = 50
SAMPLES_PER_RECORD = POINTS + 1  # and the resource's target_info
BATCH = 500
MAX_PENDING = 2000


def _time_series_count(body: bytes) -> int:
    """TimeSeries in a WriteRequest: its top-level fields (tag, varint length, bytes)."""
    count = pos = 0
    while pos < len(body):
        pos += 1  # tag 0x0a
        length = shift = 0
        while True:
            byte = body[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        pos += length
        count += 1
    return count


class _SlowReceiver(ThreadingHTTPServer):
    """A remote-write endpoint that takes 20 ms a request and notes each request's size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                count = _time_series_count(bytes(cramjam.snappy.decompress_raw(body)))
                time.sleep(0.02)
                with receiver.lock:
                    receiver.sizes.append(count)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[_SlowReceiver]:
    server = _SlowReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _PeakGauge:
    """Stands in for the pending-samples gauge and keeps its highest value."""

    def __init__(self) -> None:
        self.peak = 0.0

    def set(self, value: float) -> None:
        self.peak = max(self.peak, value)


def test_requests_keep_their_size_and_pending_samples_their_bound(
    tansu: TansuBroker, receiver: _SlowReceiver
) -> None:
    topic = f"itest-batching-{secrets.token_hex(4)}"
    producer = KafkaProducer(bootstrap_servers=tansu.bootstrap, acks=1, enable_idempotence=False)
    now_ms = int(time.time() * 1000)
    for i in range(RECORDS):
        node = f"node-{i % 20}"
        points = [(now_ms - 1000 + i, float(j), {"point": str(j)}) for j in range(POINTS)]
        payload = Payload().resource(node).gauge("itest.batching", points)
        producer.send(topic, key=node.encode(), value=bytes(payload))
    producer.flush()
    producer.close()
    settings = WorkerSettings.model_validate(
        {
            "kafka": {"bootstrap_servers": tansu.bootstrap, "topic": topic},
            "pipeline": {
                "listen": f"127.0.0.1:{free_port()}",
                "group_id": topic,
                "remote_write_url": f"http://127.0.0.1:{receiver.server_port}/api/v1/write",
                "max_concurrent_requests": 2,
                "batch_max_samples": BATCH,
                "max_pending_samples": MAX_PENDING,
                "max_poll_records": RECORDS,  # one poll may return every record
            },
        }
    )
    metrics = SelfMetrics()
    pending = _PeakGauge()
    metrics.pending_samples = pending  # type: ignore[assignment]
    worker = Worker(settings, metrics=metrics)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: sum(receiver.sizes) >= RECORDS * SAMPLES_PER_RECORD, 60, "every sample")
    finally:
        stop.set()
        thread.join(30)
    assert sum(receiver.sizes) == RECORDS * SAMPLES_PER_RECORD
    # A shard's batch goes out once it reaches BATCH samples: at most one record beyond it.
    assert max(receiver.sizes) < BATCH + SAMPLES_PER_RECORD
    assert len(receiver.sizes) >= RECORDS * SAMPLES_PER_RECORD // (BATCH + SAMPLES_PER_RECORD)
    # Consumption stops at the bound, to within one record, however large the poll.
    assert 0 < pending.peak < MAX_PENDING + SAMPLES_PER_RECORD
