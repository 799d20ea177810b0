"""The forwarder through a broker outage, end to end: a real prometheus-node-exporter scraped
every second, Tansu down meanwhile, then the pipeline into Prometheus. Nothing scraped during
the outage is lost: the records wait in the forwarder's delivery queue (memory, then the disk
spool), reach the restarted broker in order, and every scrape is in Prometheus at its own
timestamp.

The broker is down 60 s (the whole test took 75 s on two loaded cores). The Tansu broker keeps
nothing across a restart (memory storage), so the pipeline worker is started once the broker is
back, in its own group: everything it reads was delivered after the outage began.
"""

from __future__ import annotations

import gc
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents._otel import IdentitySettings, KafkaSettings
from agents.forward import ForwardCollector, ForwardSettings, build_forwarder
from continuum.services import PrometheusServer, TansuBroker, wait_until
from tests.integration.pipeline.conftest import PipelineRun

OUTAGE_S = 60.0
NODE = "forward-outage-node"
QUEUE_MAX = 4  # records in memory: the outage goes through the disk spool

pytestmark = [
    # kafka-python 3.0.12 leaks the socket of a refused reconnect while the broker is down (the
    # coroutine that made it drops it unclosed); collected below, inside this test's filters.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _scrape_stamps(bootstrap: str, topic: str, expected: int, timeout_s: float) -> list[int]:
    """Scrape times of the topic's records, read from the beginning, in order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python's own import
        from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    stamps: list[int] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(stamps) < expected and time.monotonic() < deadline:
            stamps += [int(dict(m.headers)["scrape.timestamp_ms"]) for m in consumer]
        return stamps
    finally:
        consumer.close()


@pytest.fixture
def close_leaked_sockets() -> Iterator[None]:
    """Close the never-connected sockets kafka-python's refused reconnects leave behind.

    kafka-python 3.0.12 keeps them referenced from suspended frames, so they would otherwise be
    finalized (with a ResourceWarning, an error here) in some later test.
    """
    before = {id(o) for o in gc.get_objects() if isinstance(o, socket.socket)}
    yield
    gc.collect()
    for candidate in gc.get_objects():
        if not isinstance(candidate, socket.socket) or id(candidate) in before:
            continue
        if candidate.fileno() == -1:
            continue
        try:
            candidate.getpeername()
        except OSError:
            candidate.close()


@pytest.mark.usefixtures("close_leaked_sockets")
def test_a_broker_outage_loses_no_scrape(
    fresh_tansu: TansuBroker,
    fresh_prometheus: PrometheusServer,
    node_exporter: str,
    tmp_path: Path,
) -> None:
    kafka = KafkaSettings(bootstrap_servers=fresh_tansu.bootstrap, request_timeout_ms=1000)
    forwarder = build_forwarder(
        node_exporter,
        identity=IdentitySettings(node_id=NODE, tier="edge", site="s"),
        kafka=kafka,
        settings=ForwardSettings(
            interval_s=1,
            scrape_timeout_s=1,
            queue_max_records=QUEUE_MAX,
            spool_dir=tmp_path / "spool",
        ),
    )
    started = time.monotonic()
    forwarder.start()
    try:
        wait_until(lambda: forwarder.sender.sent >= 1, 30, "first record delivered")
        fresh_tansu.stop()
        stopped_ms = time.time_ns() // 1_000_000
        scrapes_before = forwarder.scrapes_ok
        spool_peak = 0
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            spool_peak = max(spool_peak, forwarder.queue.spool_bytes)
            time.sleep(0.5)
        window_scrapes = forwarder.scrapes_ok - scrapes_before
        assert window_scrapes >= OUTAGE_S - 2, "scrapes go on while the broker is down"
        assert spool_peak > 0, "the outage never reached the disk spool"
        assert forwarder.sender.retries >= 1
        fresh_tansu.start()
        restarted_ms = time.time_ns() // 1_000_000
        wait_until(lambda: forwarder.queue.depth == 0, 60, "spool replayed")
        recovered_s = time.time() - restarted_ms / 1000
        readings = ForwardCollector(forwarder).collect()
    finally:
        forwarder.stop()
    assert forwarder.queue.dropped == 0
    assert forwarder.sender.lost == 0
    outcomes = {
        r.attributes["outcome"]: r.value
        for r in readings
        if r.instrument == "continuum.forward.records"
    }
    assert outcomes["dropped"] == 0
    assert outcomes["lost"] == 0

    # Kafka: the restarted broker holds every scrape since the outage began, oldest first.
    stamps = _scrape_stamps(fresh_tansu.bootstrap, kafka.topic, window_scrapes, 30)
    assert stamps == sorted(stamps), "replay was out of order"
    in_window = [t for t in stamps if stopped_ms <= t < restarted_ms]
    # A scrape under way at either edge may fall on one side of a count and not the other.
    assert abs(len(in_window) - window_scrapes) <= 1, (len(in_window), window_scrapes)
    assert len(set(stamps)) == len(stamps)

    # Prometheus, through the pipeline: each forwarded scrape at its own timestamp.
    run = PipelineRun(tmp_path, fresh_tansu.bootstrap, fresh_prometheus.remote_write_url)
    run.topic = kafka.topic
    try:
        run.start_worker()
        window_s = int(time.time() - stopped_ms / 1000) + 300

        def sample_ms() -> set[int]:
            result = fresh_prometheus.query(f'node_load1{{node="{NODE}"}}[{window_s}s]')
            values = result[0]["values"] if result else []
            return {round(float(t) * 1000) for t, _ in values}

        wait_until(lambda: set(stamps) <= sample_ms(), 60, f"scrapes in Prometheus\n{run.logs()}")
        assert sample_ms() == set(stamps)
    finally:
        run.stop()
    print(
        f"forward outage {OUTAGE_S:.0f} s: {window_scrapes} scrapes in the window, "
        f"{len(stamps)} delivered after it, 0 lost, spool peak {spool_peak} B, "
        f"replayed in {recovered_s:.1f} s, test {time.monotonic() - started:.0f} s"
    )
