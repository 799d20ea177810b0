"""``continuum bench pipeline``: one worker from Kafka to Prometheus's acknowledgement.

Starts its own Tansu broker and Prometheus on free loopback ports, then measures, in one run:

1. **ceiling**: Prometheus's own remote-write ingestion rate, posting pre-encoded, pre-compressed
   requests of the very series the worker writes (same labels, names of their own) in requests
   of the same size from ``--shards`` threads (the baseline), timed over ``--ceiling-rounds``
   rounds after a first round that creates the series, with Prometheus's CPU time per sample;
2. **max rate**: ``--rounds`` exports of every simulated node are preloaded into Kafka (gzip, as
   the agents send them), then one worker drains them; samples/s after the first round to the
   last acknowledgement, the CPU time each process (worker, Prometheus, broker) spent per
   sample meanwhile, peak pending samples and RSS (memory stays bounded while Prometheus is the
   bottleneck). A node's first two records are decoded in full (the second builds its
   template) at several times a steady record's cost, and the worker runs up to the pending
   bound (four rounds) ahead of the acknowledgements the clock follows, so 30 rounds by default
   keep that warm-up from weighing on a rate meant as the sustained one;
3. **the worker alone**: the same backlog drained once more into :mod:`bench._ack_receiver`, a
   process that acknowledges every request and stores nothing, so the rate is what one worker
   sustains when the storage's cost does not share its cores (the receiver's CPU is reported);
4. **real time**: ``--nodes`` nodes x ``--series`` series every ``--interval-s`` seconds for
   ``--duration-s``; freshness is a sample's collection timestamp to Prometheus's
   acknowledgement (after which it is queryable), p50/p99. The phase ends once every produced
   point is acknowledged: the worker's group has committed the end offset of every partition
   (it commits a record only after all its samples are acknowledged).

Every producer sends as the agents do (gzip, acks=1, 5 ms linger). Rates are reported twice:
**written samples/s**, what Prometheus acknowledges (the agents' points plus the per-node
aggregates and ``target_info`` the worker adds), and **ingested points/s**, the agents' points
behind them; ``written_per_point`` is the ratio of one round, from the worker's own decoder.
The max-rate phases also end on every record acknowledged.

Ends with one JSON line of the figures::

    continuum bench pipeline --nodes 1000 --series 100 --interval-s 10 --duration-s 30
"""

from __future__ import annotations

import contextlib
import http.client
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import psutil
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from rich.console import Console
from rich.table import Table

from bench._ack_receiver import WRITE_PATH
from continuum._victoria import VictoriaMetricsServer
from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    tcp_open,
    wait_until,
)
from pipeline import PipelineSettings, Worker, WorkerSettings
from pipeline._aggregate import Aggregator
from pipeline._clean import Cleaner, CleaningRules
from pipeline._otlp import OtlpDecoder
from pipeline._remote_write import (
    REMOTE_WRITE_HEADERS,
    RemoteWriteEncoder,
    SeriesKey,
    SeriesRef,
    snappy_block,
)
from pipeline._samples import SampleBuilder
from pipeline._selfmetrics import SelfMetrics

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python 3.0.12 at import
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

__all__ = ["build_node_export", "command"]

_TARGET_SAMPLES_PER_S = 250_000
_DEFAULTS = PipelineSettings()
_TARGET_P99_FRESHNESS_S = 2.0
_CPU_MODES = ("idle", "user", "system", "iowait", "nice", "irq", "softirq", "steal")
_ACK_TIMEOUT_S = 120.0  # after the last record is produced, for all of them to be acknowledged


def _kv(key: str, value: str) -> Any:
    return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))


def build_node_export(node: str, series: int) -> tuple[Any, list[Any]]:
    """A node agent's export with about ``series`` points, shaped like the series contract.

    Returns:
        the request and its data points (set ``time_unix_nano`` on them before serialising).
    """
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        [
            _kv("continuum.node.id", node),
            _kv("continuum.tier", ("edge", "cloud", "hpc")[hash(node) % 3]),
            _kv("continuum.site", f"site-{hash(node) % 5}"),
            _kv("host.name", node),
            _kv("host.arch", "amd64"),
        ]
    )
    scope = rm.scope_metrics.add()
    points: list[Any] = []

    def gauge(name: str, unit: str, value: float, **attrs: str) -> None:
        metric = _metric(name, unit)
        dp = metric.gauge.data_points.add(as_double=value)
        dp.attributes.extend(_kv(k.replace("_", "."), v) for k, v in attrs.items())
        points.append(dp)

    metrics: dict[str, Any] = {}

    def _metric(name: str, unit: str, counter: bool = False) -> Any:
        if name not in metrics:
            metric = scope.metrics.add(name=name, unit=unit, description=name)
            if counter:
                metric.sum.is_monotonic = True
                metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
            metrics[name] = metric
        return metrics[name]

    def counter(name: str, unit: str, value: float, **attrs: str) -> None:
        dp = _metric(name, unit, counter=True).sum.data_points.add(as_double=value)
        dp.attributes.extend(_kv(k.replace("__", "."), v) for k, v in attrs.items())
        points.append(dp)

    for mode in _CPU_MODES:
        gauge("system.cpu.utilization", "1", 0.05 if mode != "idle" else 0.6, cpu_mode=mode)
    gauge("continuum.node.logical_cpus", "{cpu}", 8)
    for state in ("used", "free", "buffers", "cached"):
        gauge("system.memory.usage", "By", 2.0**30, system_memory_state=state)
    gauge("system.memory.limit", "By", 16 * 2.0**30)
    gauge("system.linux.memory.available", "By", 8 * 2.0**30)
    gauge("continuum.node.gpus", "{gpu}", 0)
    for window in ("1m", "5m", "15m"):
        metric = _metric(f"system.cpu.load_average.{window}", "{thread}")
        points.append(metric.gauge.data_points.add(as_double=0.5))
    for resource_name in ("cpu", "memory", "io"):
        for scope_name in ("some", "full"):
            counter(
                "continuum.pressure.stall.time",
                "s",
                1.0,
                pressure__resource=resource_name,
                pressure__scope=scope_name,
            )
    for interface in ("eth0", "eth1"):
        for direction in ("receive", "transmit"):
            counter(
                "system.network.io",
                "By",
                1e6,
                network__io__direction=direction,
                network__interface__name=interface,
            )
    cpu = 0
    while len(points) < series:
        for mode in _CPU_MODES:
            if len(points) >= series:
                break
            counter("system.cpu.time", "s", 100.0, cpu__mode=mode, cpu__logical_number=str(cpu))
        cpu += 1
    return request, points


def _stamp(request: Any, points: list[Any], ts_ns: int, bump: float) -> bytes:
    for dp in points:
        dp.time_unix_nano = ts_ns
        if dp.as_double and dp.WhichOneof("value") == "as_double":
            dp.as_double = dp.as_double + bump
    return bytes(request.SerializeToString())


def _settings(
    bootstrap: str, topic: str, remote_write_url: str, shards: int, batch: int
) -> WorkerSettings:
    return WorkerSettings.model_validate(
        {
            "kafka": {"bootstrap_servers": bootstrap, "topic": topic},
            "pipeline": {
                "listen": f"127.0.0.1:{free_port()}",
                "group_id": f"bench-{time.time_ns()}",
                "remote_write_url": remote_write_url,
                "max_concurrent_requests": shards,
                "batch_max_samples": batch,
            },
        }
    )


class _Lags:
    """Records every freshness observation next to the histogram."""

    def __init__(self, histogram: Any):
        self.histogram = histogram
        self.values: list[float] = []

    def observe(self, value: float) -> None:
        self.values.append(value)
        self.histogram.observe(value)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_series(exports: list[tuple[Any, list[Any]]]) -> tuple[int, list[SeriesKey]]:
    """What the worker writes of the fleet's exports, labelled as the worker labels them.

    Returns:
        the samples of a node's first round, and the series of a steady round (rates and other
        aggregates over two exports appear from a node's second one).
    """
    decoder = OtlpDecoder(SampleBuilder(Cleaner(CleaningRules()), Aggregator()))
    ts_ns = time.time_ns()
    rounds: list[list[SeriesKey]] = []
    for r in range(2):
        series: list[SeriesKey] = []
        for request, points in exports:
            node = request.resource_metrics[0].resource.attributes[0].value.string_value
            value = _stamp(request, points, ts_ns + r * 10_000_000_000, float(r))
            for group in decoder.decode(value, node):
                series.extend(s.labels for s, _ts, _value in (*group.samples, *group.aggregates))
        rounds.append(series)
    return len(rounds[0]), rounds[1]


def _cpu_s(pid: int | None) -> float:
    """CPU seconds a process has used so far (user and system)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@dataclass(frozen=True)
class _Sink:
    """Where the max-rate phase writes: its name, remote-write URL and the process to charge."""

    name: str
    remote_write_url: str
    pid: int

    @classmethod
    def of(cls, name: str, store: PrometheusServer | VictoriaMetricsServer) -> _Sink:
        """The sink of a started store."""
        assert store.process is not None
        assert store.process.pid is not None
        return cls(name, store.remote_write_url, store.process.pid)


def _ceiling(
    sink: _Sink,
    exports: list[tuple[Any, list[Any]]],
    shards: int,
    batch: int,
    timed_rounds: int,
) -> tuple[float, float]:
    """A store's ingestion rate for pre-encoded requests.

    Returns:
        samples/s, and the store's CPU microseconds per sample meanwhile.
    """
    url, pid = sink.remote_write_url, sink.pid
    # A store's cost per sample grows with the labels each sample carries: post the very
    # series the worker writes (raw, target_info, aggregates) under names of their own.
    ts_ms = int(time.time() * 1000) + 1000
    refs = [
        SeriesRef(tuple((k, f"bench_ceiling_{v}" if k == "__name__" else v) for k, v in labels))
        for labels in _worker_series(exports)[1]
    ]
    encoder = RemoteWriteEncoder()
    bodies: list[list[bytes]] = [[] for _ in range(shards)]
    rounds = 1 + timed_rounds
    for r in range(rounds):
        for start in range(0, len(refs), batch):
            chunk = [(s, ts_ms + r * 1000, 1.0) for s in refs[start : start + batch]]
            bodies[(start // batch) % shards].append(snappy_block(encoder.encode_pairs(chunk)))
    host, port = url.split("//")[1].split("/")[0].split(":")

    def post(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for body in mine:
            conn.request("POST", "/api/v1/write", body=body, headers=REMOTE_WRITE_HEADERS)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                raise click.ClickException(
                    f"ceiling request to {sink.name} answered {response.status}"
                )
        conn.close()

    # Round 0 creates the series (costlier than appending, as for the worker's first round);
    # the timed rounds append to existing series, as a steady fleet does.
    warm = [b[: len(b) // rounds] for b in bodies]
    timed = [b[len(b) // rounds :] for b in bodies]
    for group, clock in ((warm, False), (timed, True)):
        threads = [threading.Thread(target=post, args=(b,)) for b in group]
        started, cpu_started = time.perf_counter(), _cpu_s(pid)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if clock:
            samples = len(refs) * timed_rounds
            cpu_us = (_cpu_s(pid) - cpu_started) * 1e6 / samples
            return samples / (time.perf_counter() - started), cpu_us
    raise AssertionError("unreachable")


def _producer(bootstrap: str) -> KafkaProducer:
    """A producer configured as the agents' (gzip, acks=1, no idempotence, 5 ms linger)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        enable_idempotence=False,
        linger_ms=5,
        compression_type="gzip",
    )


class _Produced:
    """Records sent to one topic, their agent points, and the end offset of each partition."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = _producer(bootstrap)
        self.futures: list[Any] = []
        self.points = 0

    def send(self, node: str, value: bytes, points: int) -> None:
        future = self.producer.send(
            self.topic,
            key=node.encode(),
            value=value,
            headers=[("content-type", b"application/x-protobuf")],
        )
        self.futures.append(future)
        self.points += points

    def close(self) -> dict[TopicPartition, int]:
        """Flush, and the offset after the last record of each partition (from the acks)."""
        self.producer.flush()
        ends: dict[TopicPartition, int] = {}
        for future in self.futures:
            metadata = future.get(timeout=30)
            tp = TopicPartition(metadata.topic, metadata.partition)
            ends[tp] = max(ends.get(tp, 0), metadata.offset + 1)
        self.producer.close()
        return ends


class _Acknowledged:
    """Whether the worker's group has committed every produced offset.

    The worker commits a record's offset only once the remote-write endpoint has acknowledged
    every sample of it (and of the records before it), so a committed end offset on every
    partition means every produced point was acknowledged.
    """

    def __init__(self, bootstrap: str, group_id: str, ends: dict[TopicPartition, int]) -> None:
        self.ends = ends
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
        )

    def __call__(self) -> bool:
        return all((self.consumer.committed(tp) or 0) >= end for tp, end in self.ends.items())

    def close(self) -> None:
        self.consumer.close(autocommit=False)


@contextlib.contextmanager
def _ack_receiver(workdir: Path) -> Iterator[_Sink]:
    """Run :mod:`bench._ack_receiver` as its own process for as long as the block lasts."""
    port = free_port()
    process = ManagedProcess(
        "ack-receiver",
        [sys.executable, "-m", "bench._ack_receiver", str(port)],
        workdir / "ack-receiver.log",
    )
    process.start()
    try:
        assert process.pid is not None
        wait_until(lambda: tcp_open("127.0.0.1", port), 30, "acknowledging receiver")
        yield _Sink("ack", f"http://127.0.0.1:{port}{WRITE_PATH}", process.pid)
    finally:
        process.stop()


def _run_worker(settings: WorkerSettings) -> tuple[Worker, threading.Event, threading.Thread]:
    metrics = SelfMetrics()
    worker = Worker(settings, metrics=metrics)
    metrics.lag = _Lags(metrics.lag)  # type: ignore[assignment]
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="bench-worker", daemon=True)
    thread.start()
    return worker, stop, thread


def _written(worker: Worker) -> float:
    return float(worker.metrics.samples_written._value.get())


def _max_rate(
    broker: TansuBroker,
    sink: _Sink,
    exports: list[tuple[Any, list[Any]]],
    written: tuple[int, int],
    rounds: int,
    shards: int,
    batch: int,
) -> dict[str, float]:
    """Drain ``rounds`` preloaded exports of every node into ``sink`` with one worker.

    Samples/s count what the worker writes (agent points plus the aggregates and
    ``target_info`` it adds; ``written`` holds its first round's samples and the total it
    should write); points/s the agent points of those samples' records.
    """
    first_round, expected = written
    topic = f"bench-max-rate-{sink.name}"
    produced = _Produced(broker.bootstrap, topic)
    now_ns = time.time_ns()
    for r in range(rounds):
        ts_ns = now_ns - (rounds - r) * 2_000_000_000
        for request, points in exports:
            node = request.resource_metrics[0].resource.attributes[0].value.string_value
            produced.send(node, _stamp(request, points, ts_ns, 1.0), len(points))
    ends = produced.close()
    raw = produced.points
    settings = _settings(broker.bootstrap, topic, sink.remote_write_url, shards, batch)
    acknowledged = _Acknowledged(broker.bootstrap, settings.pipeline.group_id, ends)
    worker, stop, thread = _run_worker(settings)
    assert broker.process is not None
    pids = (None, sink.pid, broker.process.pid)  # worker (this process), ...
    first_cpu = last_cpu = [0.0, 0.0, 0.0]
    first_paused_s = 0.0
    first_t = first_n = 0.0
    last_t = loop_start_t = time.perf_counter()
    peak_pending = 0.0
    deadline = time.monotonic() + 600
    last_change = time.monotonic()
    last_n = 0.0
    while True:
        if time.monotonic() > deadline:
            stop.set()
            raise click.ClickException(
                f"max-rate phase ({sink.name}): {last_n:,.0f} of {expected:,} "
                "samples acknowledged after 600 s"
            )
        n = _written(worker)
        peak_pending = max(peak_pending, worker.metrics.pending_samples._value.get())
        # Clock starts after the first round, which creates the series (as for the ceiling).
        if n >= first_round and not first_t:
            first_t, first_n = time.perf_counter(), n
            first_cpu = [_cpu_s(pid) for pid in pids]
            first_paused_s = worker.metrics.backpressure._value.get()
        if n != last_n:
            last_n, last_change = n, time.monotonic()
            last_t = time.perf_counter()
            last_cpu = [_cpu_s(pid) for pid in pids]
        # Ends on the condition that every produced record is acknowledged (its offset
        # committed), asked of the broker once every expected sample is written or writes stop.
        elif (n >= expected or time.monotonic() - last_change > 1.0) and acknowledged():
            break
        time.sleep(0.02)
    acknowledged.close()
    sink_rss_mib = psutil.Process(sink.pid).memory_info().rss / 2**20
    stop.set()
    thread.join(60)
    if last_t > first_t > 0 and last_n > first_n:
        rate = (last_n - first_n) / (last_t - first_t)
        cpu_us = [
            (b - a) * 1e6 / (last_n - first_n) for a, b in zip(first_cpu, last_cpu, strict=True)
        ]
        paused = (worker.metrics.backpressure._value.get() - first_paused_s) / (last_t - first_t)
    else:
        # A tiny run lands in one write: rate over the whole wait (group join included).
        rate = last_n / max(last_t - loop_start_t, 1e-9)
        cpu_us, paused = [0.0, 0.0, 0.0], 0.0
    return {
        "raw_samples": float(raw),
        "written_samples": last_n,
        "samples_per_s": rate,
        "worker_cpu_us_per_sample": cpu_us[0],
        "sink_cpu_us_per_sample": cpu_us[1],
        "broker_cpu_us_per_sample": cpu_us[2],
        "paused_share": paused,
        "peak_pending_samples": peak_pending,
        "max_pending_samples": float(worker.settings.pipeline.max_pending_samples),
        "rss_mib": _rss_mib(),
        "sink_rss_mib": sink_rss_mib,
    }


def _real_time(
    broker: TansuBroker,
    prometheus: PrometheusServer,
    exports: list[tuple[Any, list[Any]]],
    interval_s: float,
    duration_s: float,
    shards: int,
    batch: int,
) -> dict[str, float]:
    topic = "bench-real-time"
    settings = _settings(broker.bootstrap, topic, prometheus.remote_write_url, shards, batch)
    worker, stop, thread = _run_worker(settings)
    produced = _Produced(broker.bootstrap, topic)
    # Let the worker join the group (~3 s) before the clock starts.
    while not worker.consumer_assigned():
        time.sleep(0.1)
    lags: _Lags = worker.metrics.lag  # type: ignore[assignment]
    lags.values.clear()
    started = time.monotonic()
    spacing_s = interval_s / len(exports)
    sent = 0
    while time.monotonic() - started < duration_s:
        for i, (request, points) in enumerate(exports):
            due = started + (sent // len(exports)) * interval_s + i * spacing_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            node = request.resource_metrics[0].resource.attributes[0].value.string_value
            produced.send(node, _stamp(request, points, time.time_ns(), 1.0), len(points))
            sent += 1
    ends = produced.close()
    acknowledged = _Acknowledged(broker.bootstrap, settings.pipeline.group_id, ends)
    try:
        # The phase ends when every produced point is acknowledged, not after a fixed wait.
        wait_until(acknowledged, _ACK_TIMEOUT_S, "acknowledgement of every produced point", 0.2)
    finally:
        acknowledged.close()
        stop.set()
        thread.join(60)
    values = sorted(lags.values) or [0.0]
    return {
        "records": float(sent),
        "points": float(produced.points),
        "samples_per_s_offered": sum(len(p) for _r, p in exports) / interval_s,
        "freshness_p50_s": statistics.median(values),
        "freshness_p99_s": values[min(int(len(values) * 0.99), len(values) - 1)],
        "freshness_max_s": values[-1],
    }


def _into_victoria_metrics(
    workdir: Path,
    broker: TansuBroker,
    exports: list[tuple[Any, list[Any]]],
    written: tuple[int, int],
    rounds: int,
    shards: int,
    batch: int,
    ceiling_rounds: int,
) -> dict[str, float]:
    """The ceiling and the max-rate phase again, into a VictoriaMetrics of its own.

    The same worker settings, the same backlog (a topic of its own) and the same rule: the
    clock stops when every record's offset is committed, which the worker does only after the
    store acknowledged all its samples. Prometheus is idle meanwhile, so neither store's cost
    shares the cores with the other's.
    """
    console = Console(stderr=True)
    store = VictoriaMetricsServer("127.0.0.1", free_port(), workdir / "victoria-metrics")
    store.start()
    try:
        sink = _Sink.of("victoriametrics", store)
        console.print("measuring VictoriaMetrics's ingestion ceiling ...")
        ceiling, ceiling_cpu_us = _ceiling(sink, exports, shards, batch, ceiling_rounds)
        console.print("max-rate phase into VictoriaMetrics ...")
        figures = _max_rate(broker, sink, exports, written, rounds, shards, batch)
    finally:
        store.stop()
    return figures | {
        "ceiling_samples_per_s": ceiling,
        "ceiling_cpu_us_per_sample": ceiling_cpu_us,
    }


@click.command(name="pipeline")
@click.option("--nodes", default=1000, show_default=True, help="Simulated nodes.")
@click.option("--series", default=100, show_default=True, help="Series per node.")
@click.option("--interval-s", default=10.0, show_default=True, help="Export interval.")
@click.option("--duration-s", default=30.0, show_default=True, help="Real-time phase length.")
@click.option(
    "--rounds",
    default=30,
    show_default=True,
    help="Exports per node, max-rate phases (the first two build series and templates).",
)
@click.option(
    "--ceiling-rounds", default=12, show_default=True, help="Timed rounds of the ceiling."
)
@click.option(
    "--shards",
    default=_DEFAULTS.max_concurrent_requests,
    show_default=True,
    help="Concurrent remote-write requests (the worker's default).",
)
@click.option(
    "--batch",
    default=_DEFAULTS.batch_max_samples,
    show_default=True,
    help="Samples per request (the worker's default).",
)
@click.option(
    "--prometheus-gogc",
    type=int,
    default=None,
    help="GOGC for the bench's Prometheus (default: its own); higher trades memory for CPU.",
)
@click.option(
    "--storage",
    type=click.Choice(["prometheus", "victoriametrics"]),
    default="prometheus",
    show_default=True,
    help="victoriametrics: also measure the ceiling and the max rate into VictoriaMetrics, "
    "beside Prometheus, in the same run.",
)
def command(
    nodes: int,
    series: int,
    interval_s: float,
    duration_s: float,
    rounds: int,
    ceiling_rounds: int,
    shards: int,
    batch: int,
    prometheus_gogc: int | None,
    storage: str,
) -> None:
    """Pipeline throughput and freshness against Prometheus's own ceiling."""
    console = Console(stderr=True)
    exports = [build_node_export(f"bench-node-{i:05d}", series) for i in range(nodes)]
    points_per_round = sum(len(points) for _request, points in exports)
    # What the worker writes of a steady round: the points plus the aggregates and target_info.
    first_round, steady = _worker_series(exports)
    written_per_round = len(steady)
    expected_written = first_round + written_per_round * (rounds - 1)
    written = (first_round, expected_written)
    # The timed window follows the first round, so its samples are steady rounds'.
    point_share = points_per_round / written_per_round
    victoria: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        broker = TansuBroker("127.0.0.1", free_port(), Path(tmp) / "kafka")
        prometheus = PrometheusServer(
            "127.0.0.1", free_port(), Path(tmp) / "prometheus", gogc=prometheus_gogc
        )
        broker.start()
        prometheus.start()
        try:
            console.print("measuring Prometheus's ingestion ceiling ...")
            into_prometheus = _Sink.of("prometheus", prometheus)
            ceiling, ceiling_cpu_us = _ceiling(
                into_prometheus, exports, shards, batch, ceiling_rounds
            )
            console.print("max-rate phase ...")
            max_rate = _max_rate(broker, into_prometheus, exports, written, rounds, shards, batch)
            if storage == "victoriametrics":
                victoria = _into_victoria_metrics(
                    Path(tmp), broker, exports, written, rounds, shards, batch, ceiling_rounds
                )
            console.print("max-rate phase, the worker alone (an acknowledging receiver) ...")
            with _ack_receiver(Path(tmp)) as receiver:
                alone = _max_rate(broker, receiver, exports, written, rounds, shards, batch)
            console.print("real-time phase ...")
            real_time = _real_time(
                broker, prometheus, exports, interval_s, duration_s, shards, batch
            )
        finally:
            prometheus.stop()
            broker.stop()
    figures = {
        "nodes": nodes,
        "series_per_node": series,
        "shards": shards,
        "batch_samples": batch,
        "prometheus_gogc": prometheus_gogc,
        "ceiling_samples_per_s": round(ceiling),
        "worker_samples_per_s": round(max_rate["samples_per_s"]),
        "worker_points_per_s": round(max_rate["samples_per_s"] * point_share),
        "points_per_round": points_per_round,
        "written_samples_per_round": written_per_round,
        "written_per_point": round(written_per_round / points_per_round, 3),
        "ratio_to_ceiling": round(max_rate["samples_per_s"] / ceiling, 3) if ceiling else 0.0,
        "target_samples_per_s": _TARGET_SAMPLES_PER_S,
        "ceiling_prometheus_cpu_us_per_sample": round(ceiling_cpu_us, 2),
        "worker_cpu_us_per_sample": round(max_rate["worker_cpu_us_per_sample"], 2),
        "prometheus_cpu_us_per_sample": round(max_rate["sink_cpu_us_per_sample"], 2),
        "broker_cpu_us_per_sample": round(max_rate["broker_cpu_us_per_sample"], 2),
        "worker_alone_samples_per_s": round(alone["samples_per_s"]),
        "worker_alone_points_per_s": round(alone["samples_per_s"] * point_share),
        "worker_alone_cpu_us_per_sample": round(alone["worker_cpu_us_per_sample"], 2),
        "receiver_cpu_us_per_sample": round(alone["sink_cpu_us_per_sample"], 2),
        "paused_share": round(max_rate["paused_share"], 3),
        "max_rate_written_samples": int(max_rate["written_samples"]),
        "max_rate_expected_samples": expected_written,
        "peak_pending_samples": int(max_rate["peak_pending_samples"]),
        "max_pending_samples": int(max_rate["max_pending_samples"]),
        "peak_rss_mib": round(max_rate["rss_mib"], 1),
        "prometheus_rss_mib": round(max_rate["sink_rss_mib"], 1),
        "offered_samples_per_s": round(real_time["samples_per_s_offered"]),
        "real_time_records": int(real_time["records"]),
        "real_time_points_produced": int(real_time["points"]),
        "real_time_all_acknowledged": True,  # the phase ends on it (or the bench fails)
        "producer_compression": "gzip",
        "freshness_p50_s": round(real_time["freshness_p50_s"], 3),
        "freshness_p99_s": round(real_time["freshness_p99_s"], 3),
        "freshness_max_s": round(real_time["freshness_max_s"], 3),
        "target_p99_freshness_s": _TARGET_P99_FRESHNESS_S,
        "meets_throughput_target": max_rate["samples_per_s"] >= _TARGET_SAMPLES_PER_S,
        "meets_freshness_target": real_time["freshness_p99_s"] < _TARGET_P99_FRESHNESS_S,
        "storage": storage,
    }
    if victoria:
        vm_rate = victoria["samples_per_s"]
        figures |= {
            "vm_ceiling_samples_per_s": round(victoria["ceiling_samples_per_s"]),
            "vm_ceiling_cpu_us_per_sample": round(victoria["ceiling_cpu_us_per_sample"], 2),
            "vm_worker_samples_per_s": round(vm_rate),
            "vm_worker_points_per_s": round(vm_rate * point_share),
            "vm_ratio_to_ceiling": round(vm_rate / victoria["ceiling_samples_per_s"], 3)
            if victoria["ceiling_samples_per_s"]
            else 0.0,
            "vm_worker_cpu_us_per_sample": round(victoria["worker_cpu_us_per_sample"], 2),
            "vm_store_cpu_us_per_sample": round(victoria["sink_cpu_us_per_sample"], 2),
            "vm_paused_share": round(victoria["paused_share"], 3),
            "vm_max_rate_written_samples": int(victoria["written_samples"]),
            "vm_rss_mib": round(victoria["sink_rss_mib"], 1),
            "vm_over_prometheus": round(vm_rate / max_rate["samples_per_s"], 3)
            if max_rate["samples_per_s"]
            else 0.0,
            "vm_meets_throughput_target": vm_rate >= _TARGET_SAMPLES_PER_S,
        }
    table = Table(title=f"pipeline: {nodes} nodes x {series} series")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)
    print(json.dumps(figures))
