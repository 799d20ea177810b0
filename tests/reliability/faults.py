"""Sequence-numbered synthetic producers and recovery timers for the fault tests.

A :class:`SeqProducer` exports one sample per tick through the agents' own delivery path
(:class:`DeliveryQueue` with its spool, :class:`KafkaSender`), each sample its own series
(``seq`` label), so ``count(metric)`` in Prometheus counts exactly what arrived::

    producer = SeqProducer(tmp_path, tansu.bootstrap, run.topic, "rel.fault.abc")
    producer.start()
    ...
    producer.stop()
    assert landed(prometheus, "rel_fault_abc") == producer.sent
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agents._otel._kafka import KafkaSender
from agents._otel._settings import KafkaSettings
from agents._otel._spool import DeliveryQueue
from continuum.services import PrometheusServer
from tests.unit.pipeline.otlp_factory import Payload

#: Figures measured by the fault tests, one JSON object per line (docs/reliability.md).
FIGURES_FILE_ENV = "CONTINUUM_RELIABILITY_FIGURES"


class SeqProducer:
    """Produces ``rel.*{seq="N"} = N`` samples on a thread, through the agent's spool.

    Args:
        workdir: where the spool lives.
        bootstrap: the broker.
        topic: the topic the pipeline reads.
        metric: the OTel metric name (unique to the test).
        nodes: how many node ids the samples rotate over.
        interval_s: pause between samples.
        skew_ms: added to every timestamp (a producer whose clock jumped).
    """

    def __init__(
        self,
        workdir: Path,
        bootstrap: str,
        topic: str,
        metric: str,
        *,
        nodes: int = 4,
        node_prefix: str = "seq",
        interval_s: float = 0.01,
        skew_ms: int = 0,
        spool_dir: Path | None = None,
        max_spool_bytes: int = 64 << 20,
    ):
        self.metric = metric
        self.nodes = nodes
        self.node_prefix = node_prefix
        self.interval_s = interval_s
        self.skew_ms = skew_ms
        self.queue = DeliveryQueue(
            spool_dir or workdir / f"spool-{metric}",
            max_memory_messages=64,
            max_spool_bytes=max_spool_bytes,
        )
        settings = KafkaSettings(bootstrap_servers=bootstrap, topic=topic, request_timeout_ms=2000)
        self.sender = KafkaSender(self.queue, settings)
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def payload(self, seq: int) -> tuple[bytes, bytes]:
        node = f"{self.node_prefix}-{seq % self.nodes}"
        ts_ms = int(time.time() * 1000) + self.skew_ms
        body = Payload().resource(node).gauge(self.metric, [(ts_ms, float(seq), {"seq": str(seq)})])
        return node.encode(), bytes(body)

    def put(self, count: int = 1) -> None:
        """Export ``count`` more samples now (from the caller's thread)."""
        for _ in range(count):
            key, value = self.payload(self.sent)
            self.queue.put(key, value, 1)
            self.sent += 1

    def start(self) -> None:
        self.sender.start()
        self.resume()

    def resume(self) -> None:
        """Produce on the thread again after :meth:`pause`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.put()

    def pause(self) -> None:
        """Stop producing new samples (the sender keeps delivering)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def stop(self, flush_timeout_s: float = 30.0) -> None:
        self.pause()
        self.sender.force_flush(flush_timeout_s * 1000)
        self.sender.shutdown(5_000)


def landed(prometheus: PrometheusServer, name: str) -> int:
    """Series of ``name`` in Prometheus (one per sequence number)."""
    try:
        result = prometheus.query(f"count({name})")
    except Exception:  # Prometheus down: nothing can be counted now
        return -1
    return int(float(result[0]["value"][1])) if result else 0


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``condition``; return the seconds it took, or fail after ``timeout_s``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def record_figure(fault: str, **figures: float | int | str) -> None:
    """Print a measured figure, and append it to the figures file when one is named."""
    import os

    line = json.dumps({"fault": fault, **figures})
    print(f"FIGURE {line}")
    target = os.environ.get(FIGURES_FILE_ENV)
    if target:
        with open(target, "a") as out:
            out.write(line + "\n")
