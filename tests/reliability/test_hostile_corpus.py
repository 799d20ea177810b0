"""A hostile corpus through a real pipeline worker: failures counted, good samples land."""

from __future__ import annotations

import secrets
import time
import warnings
from collections import Counter

import httpx
import pytest

from continuum.services import PrometheusServer, TansuBroker
from tests.integration.pipeline.test_pipeline import _count, _self_metric
from tests.reliability.conftest import TunedRunFactory
from tests.reliability.corpus import build_corpus

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaProducer
    from kafka.errors import MessageSizeTooLargeError

pytestmark = pytest.mark.integration

SERIES_LIMIT = 50
RECORDS = 320


def _wait(predicate: object, timeout_s: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_hostile_corpus_is_counted_dead_lettered_and_good_samples_land(
    tansu: TansuBroker, prometheus: PrometheusServer, tuned_run_factory: TunedRunFactory
) -> None:
    run = tuned_run_factory(
        tansu.bootstrap,
        prometheus.remote_write_url,
        pipeline={"max_series_per_node": SERIES_LIMIT},
    )
    tag = secrets.token_hex(4)
    corpus = build_corpus(11, RECORDS, tag, int(time.time() * 1000), SERIES_LIMIT)
    assert len(corpus.records) >= 300
    assert sum(corpus.dead_letters.values()) >= 60, corpus.categories
    worker = run.start_worker()
    pid = worker.pid
    for record in corpus.records:
        run.send(record.key, record.value, record.content_type, record.headers)
    run.flush()

    for name, expected in corpus.landed.items():
        _wait(lambda n=name, e=expected: _count(prometheus, n) >= e, 60, f"{expected} x {name}")
        assert _count(prometheus, name) == expected, name
    letters = run.dead_letters(sum(corpus.dead_letters.values()), timeout_s=30)
    reasons = Counter(dict(m.headers)["error.reason"].decode() for m in letters)
    assert reasons == corpus.dead_letters
    for message in letters:
        headers = dict(message.headers)
        assert headers["error.detail"]
        assert int(headers["source.offset"]) >= 0
    _wait(lambda: run.committed() == run.end_offsets(), 20, "offsets committed to the end")

    url = worker.metrics_url  # type: ignore[attr-defined]
    dropped = _self_metric(url, "continuum_pipeline_samples_dropped_total")
    assert {k: int(v) for k, v in dropped.items() if v} == dict(corpus.dropped)
    dead = _self_metric(url, "continuum_pipeline_dead_letters_total")
    assert {k: int(v) for k, v in dead.items() if v} == dict(corpus.dead_letters)
    # The worker survived it all: the same process, still healthy.
    assert worker.running()
    assert worker.pid == pid
    assert httpx.get(url.replace("/metrics", "/healthz"), timeout=5).status_code == 200


def test_oversize_records_are_refused_by_the_producer_and_delivered_ones_processed(
    tansu: TansuBroker, prometheus: PrometheusServer, tuned_run_factory: TunedRunFactory
) -> None:
    run = tuned_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    big = b"\x0a" + b"\xff" * (1_200_000)
    # The default producer (as the agents use it) never sends a record over 1 MB.
    with pytest.raises(MessageSizeTooLargeError):
        run.producer.send(run.topic, key=b"big", value=big).get(timeout=10)
    # A producer allowed larger requests gets one through the broker: the worker must cope.
    producer = KafkaProducer(
        bootstrap_servers=tansu.bootstrap, max_request_size=4 * 1024 * 1024, acks=1
    )
    try:
        headers = [("content-type", b"application/x-protobuf")]
        meta = producer.send(run.topic, key=b"big", value=big, headers=headers).get(timeout=30)
    finally:
        producer.close(timeout=5)
    run.send("after", b"\x0a\x05short")  # a small bad record after it, on any partition
    run.flush()
    run._end[meta.partition] = max(run._end.get(meta.partition, 0), meta.offset + 1)
    worker = run.start_worker()
    letters = run.dead_letters(2, timeout_s=15)
    assert worker.running(), worker.log_tail(5)
    sources = {
        (dict(m.headers)["source.partition"], dict(m.headers)["source.offset"]) for m in letters
    }
    assert (str(meta.partition).encode(), str(meta.offset).encode()) in sources
    assert {dict(m.headers)["error.reason"] for m in letters} == {b"decode"}
    _wait(lambda: run.committed() == run.end_offsets(), 20, "offsets committed to the end")
