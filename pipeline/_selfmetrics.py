"""The worker's self-metrics and the HTTP endpoint that serves them (/metrics, /healthz).

Hot-path counts (per sample) live in plain dicts owned by the cleaning and aggregation code and
are read at scrape time by :class:`CountsCollector`; a prometheus_client counter per sample
would take a lock each time::

    metrics = SelfMetrics()
    server = MetricsServer("127.0.0.1", 9465, metrics.registry, healthy=lambda: True)
    server.start()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from pipeline._errors import DEAD_LETTER_REASONS

__all__ = ["CountsCollector", "MetricsServer", "SelfMetrics"]

_LAG_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
_WRITE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CountsCollector(Collector):
    """Exposes dict-held counters and gauges, read at scrape time.

    Args:
        counters: Prometheus name (with ``_total``) -> (help, label name, reason -> count).
        gauges: Prometheus name -> (help, callable returning the value).
        known: Prometheus name -> the label values it exposes at 0 before their first count
            (so a dashboard shows 0, not "No data", as Prometheus's instrumentation advises).
    """

    def __init__(
        self,
        counters: Mapping[str, tuple[str, str, Mapping[str, int]]],
        gauges: Mapping[str, tuple[str, Callable[[], float]]],
        known: Mapping[str, Sequence[str]] | None = None,
    ):
        self._counters = counters
        self._gauges = gauges
        self._known = dict(known or {})

    def collect(self) -> Iterator[Metric]:
        for name, (help_text, label, counts) in self._counters.items():
            family = CounterMetricFamily(name, help_text, labels=[label])
            current = dict(counts)
            for reason in self._known.get(name, ()):
                current.setdefault(reason, 0)
            for reason, count in current.items():
                family.add_metric([reason], count)
            yield family
        for name, (help_text, read) in self._gauges.items():
            yield GaugeMetricFamily(name, help_text, value=read())


class SelfMetrics:
    """Counters, gauges and histograms of one worker, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "continuum_pipeline_records",
            "Kafka records consumed, by content type.",
            ["content_type"],
            registry=r,
        )
        self.dead_letters = Counter(
            "continuum_pipeline_dead_letters",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=r,
        )
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)  # 0 until the first, not absent
        self.samples_written = Counter(
            "continuum_pipeline_samples_written",
            "Samples acknowledged by the remote-write endpoint.",
            registry=r,
        )
        self.requests = Counter(
            "continuum_pipeline_remote_write_requests",
            "Remote-write requests by outcome (2xx, 4xx, 5xx, error).",
            ["outcome"],
            registry=r,
        )
        self.retries = Counter(
            "continuum_pipeline_remote_write_retries",
            "Remote-write attempts repeated after a 5xx or a connection error.",
            registry=r,
        )
        self.write_duration = Histogram(
            "continuum_pipeline_remote_write_duration_seconds",
            "Time of one remote-write attempt, request to answer.",
            buckets=_WRITE_BUCKETS_S,
            registry=r,
        )
        self.lag = Histogram(
            "continuum_pipeline_write_lag_seconds",
            "From a record's newest sample timestamp to its acknowledgement by Prometheus.",
            buckets=_LAG_BUCKETS_S,
            registry=r,
        )
        self.commits = Counter(
            "continuum_pipeline_offset_commits",
            "Offset commits made after acknowledgement.",
            registry=r,
        )
        self.commit_failures = Counter(
            "continuum_pipeline_offset_commit_failures",
            "Offset commits that failed (the records will be read again).",
            registry=r,
        )
        self.backpressure = Counter(
            "continuum_pipeline_backpressure_seconds",
            "Time consumption was paused because too many samples awaited acknowledgement.",
            registry=r,
        )
        self.pending_samples = Gauge(
            "continuum_pipeline_pending_samples",
            "Samples handed to the writer and not yet acknowledged.",
            registry=r,
        )


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    healthy: Callable[[], bool]

    def do_GET(self) -> None:
        if self.path.startswith("/metrics"):
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            body = encoder(self.registry)
            self._reply(200, content_type, body)
        elif self.path.startswith("/healthz"):
            ok = self.healthy()
            self._reply(200 if ok else 503, "text/plain", b"ok\n" if ok else b"unhealthy\n")
        else:
            self._reply(404, "text/plain", b"not found\n")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: scrapes every few seconds would flood the log."""


class MetricsServer:
    """Serves /metrics (Prometheus or OpenMetrics by Accept) and /healthz in a thread."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, healthy: Callable[[], bool]
    ):
        handler = type(
            "Handler", (_Handler,), {"registry": registry, "healthy": staticmethod(healthy)}
        )
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pipeline-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
