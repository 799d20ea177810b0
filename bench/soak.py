"""``continuum bench soak``: the full stack under a steady load for minutes.

Starts Tansu and Prometheus on free loopback ports, then the continuum daemons as they run in
production (a node agent, a pipeline worker and the scheduler API, each its own process), and
``--nodes`` simulated nodes exporting a node agent's series every ``--interval-s`` seconds
through Kafka. Every export carries a per-node sequence counter, so loss is counted exactly
(exports acknowledged by Kafka against samples Prometheus holds). Reports:

* throughput: samples written per second against the samples offered (the baseline);
* freshness: collection timestamp to Prometheus's acknowledgement, p50/p99, from the worker's
  lag histogram;
* memory: RSS of every process sampled over the run, first minute against last (growth ratio),
  and a plot (``--plot``);
* loss: exports sent minus exports stored (must be 0); API requests that failed.

Ends with one JSON line of the figures::

    continuum bench soak --nodes 2000 --minutes 10
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import httpx
import psutil
import yaml
from opentelemetry.proto.metrics.v1 import metrics_pb2
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from bench.pipeline import build_node_export
from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    http_ok,
    wait_until,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python 3.0.12 at import
    from kafka import KafkaProducer

__all__ = ["command"]

_SEQ_METRIC = "bench.soak.exports"
_SEQ_SERIES = "bench_soak_exports_total"
_TOPIC = "otlp_metrics"
_MEMORY_SAMPLE_S = 5.0
# Memory growth compares the median RSS of the first minute with that of the last.
_GROWTH_WINDOW_S = 60.0
_LAG_HISTOGRAM = "continuum_pipeline_write_lag_seconds"


class _Stack:
    """Broker, Prometheus and the daemons of one soak run, in a temporary directory."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.broker = TansuBroker("127.0.0.1", free_port(), workdir / "kafka")
        self.prometheus = PrometheusServer("127.0.0.1", free_port(), workdir / "prometheus")
        self.token = secrets.token_urlsafe(24)
        self.ports = {"api": free_port(), "pipeline": free_port(), "agent": free_port()}
        self.daemons: dict[str, ManagedProcess] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def pipeline_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['pipeline']}/metrics"

    def start(self) -> None:
        self.broker.start()
        self.prometheus.start()
        token_file = self.workdir / "token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        config = {
            "identity": {"node_id": "soak-agent", "tier": "edge", "site": "soak"},
            "kafka": {"bootstrap_servers": self.broker.bootstrap, "topic": _TOPIC},
            "agent": {
                "listen": f"127.0.0.1:{self.ports['agent']}",
                "interval_s": 5,
                "spool_dir": str(self.workdir / "spool"),
            },
            "pipeline": {
                "listen": f"127.0.0.1:{self.ports['pipeline']}",
                "remote_write_url": self.prometheus.remote_write_url,
                "group_id": "soak",
            },
            "api": {
                "listen": f"127.0.0.1:{self.ports['api']}",
                "prometheus_url": self.prometheus.url,
                "token_file": str(token_file),
                "database": str(self.workdir / "continuum.db"),
            },
        }
        config_path = self.workdir / "continuum.yaml"
        config_path.write_text(yaml.safe_dump(config))
        config_path.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
        for name, args in (
            ("pipeline", ["pipeline"]),
            ("api", ["api"]),
            ("agent", ["agent", "node"]),
        ):
            argv = [sys.executable, "-m", "continuum", *args, "--config", str(config_path)]
            process = ManagedProcess(name, argv, self.workdir / f"{name}.log", env=env)
            process.start()
            self.daemons[name] = process
        wait_until(lambda: http_ok(f"{self.api_url}/healthz"), 60, "API")
        wait_until(lambda: http_ok(self.pipeline_metrics_url), 60, "pipeline")

    def pids(self) -> dict[str, int]:
        out = {name: p.pid for name, p in self.daemons.items() if p.pid is not None}
        for name, service in (("kafka", self.broker), ("prometheus", self.prometheus)):
            if service.process is not None and service.process.pid is not None:
                out[name] = service.process.pid
        out["load"] = os.getpid()
        return out

    def stop(self) -> None:
        for process in reversed(list(self.daemons.values())):
            process.stop()
        self.prometheus.stop()
        self.broker.stop()


class _Nodes:
    """Simulated nodes: each export is a node agent's series plus a sequence counter."""

    def __init__(self, nodes: int, series: int):
        self.exports = []
        for i in range(nodes):
            request, points = build_node_export(f"soak-node-{i:05d}", series)
            metric = (
                request.resource_metrics[0]
                .scope_metrics[0]
                .metrics.add(
                    name=_SEQ_METRIC, unit="{export}", description="Exports sent by a node."
                )
            )
            metric.sum.is_monotonic = True
            metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
            seq_point = metric.sum.data_points.add()
            self.exports.append((f"soak-node-{i:05d}", request, points, seq_point))
        self.samples_per_export = series + 1
        self.acked = 0
        self.failed = 0

    def run(self, broker: str, interval_s: float, duration_s: float) -> None:
        producer = KafkaProducer(
            bootstrap_servers=broker, acks=1, enable_idempotence=False, linger_ms=20
        )
        started = time.monotonic()
        spacing_s = interval_s / len(self.exports)
        rounds = max(1, int(duration_s / interval_s))
        futures: list[Any] = []
        for round_no in range(rounds):
            for i, (node, request, points, seq_point) in enumerate(self.exports):
                due = started + round_no * interval_s + i * spacing_s
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                ts_ns = time.time_ns()
                for dp in points:
                    dp.time_unix_nano = ts_ns
                seq_point.time_unix_nano = ts_ns
                seq_point.as_double = float(round_no + 1)
                futures.append(
                    producer.send(
                        _TOPIC,
                        key=node.encode(),
                        value=request.SerializeToString(),
                        headers=[("content-type", b"application/x-protobuf")],
                    )
                )
            futures = self._settle(futures, producer, block=False)
        self._settle(futures, producer, block=True)
        producer.close(timeout=10)

    def _settle(self, futures: list[Any], producer: Any, block: bool) -> list[Any]:
        if block:
            producer.flush(timeout=60)
        pending = []
        for future in futures:
            if not future.is_done:
                pending.append(future)
            elif future.succeeded():
                self.acked += 1
            else:
                self.failed += 1
        return pending


class _Sampler(threading.Thread):
    """Samples RSS of each process, pipeline counters and API health every few seconds."""

    def __init__(self, stack: _Stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.stop_event = threading.Event()
        self.rss_mib: dict[str, list[tuple[float, float]]] = {}
        self.written: list[tuple[float, float]] = []
        self.api_ok = 0
        self.api_failed = 0
        self.started = time.monotonic()

    def run(self) -> None:
        processes = {name: psutil.Process(pid) for name, pid in self.stack.pids().items()}
        headers = {"Authorization": f"Bearer {self.stack.token}"}
        with httpx.Client(timeout=5, headers=headers) as client:
            while True:
                t = time.monotonic() - self.started
                for name, process in processes.items():
                    try:
                        rss = process.memory_info().rss
                        if name != "load":  # the daemons are the load process's children
                            children = process.children(recursive=True)
                            rss += sum(c.memory_info().rss for c in children)
                    except psutil.Error:
                        continue
                    self.rss_mib.setdefault(name, []).append((t, rss / 2**20))
                families = _scrape(self.stack.pipeline_metrics_url)
                written = families.get("continuum_pipeline_samples_written_total")
                if written is not None:
                    self.written.append((t, written))
                try:
                    ok = client.get(f"{self.stack.api_url}/v1/nodes").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.api_ok += ok
                self.api_failed += not ok
                if self.stop_event.wait(_MEMORY_SAMPLE_S):
                    return


def _scrape(url: str) -> dict[str, float]:
    """Sum of each sample name in an exposition (labels summed over)."""
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def _lag_quantiles(url: str, quantiles: tuple[float, ...]) -> dict[float, float]:
    """Quantiles of the worker's lag histogram, interpolated within buckets as PromQL does."""
    text = httpx.get(url, timeout=5).text
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{_LAG_HISTOGRAM}_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0.0
    out = {}
    for q in quantiles:
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        value = 0.0
        for bound, count in buckets:
            if count >= rank:
                if bound == float("inf"):
                    value = lower_bound
                else:
                    width = count - lower_count
                    fraction = (rank - lower_count) / width if width else 1.0
                    value = lower_bound + (bound - lower_bound) * fraction
                break
            lower_bound, lower_count = bound, count
        out[q] = value
    return out


def _stored_exports(prometheus: PrometheusServer, minutes: float) -> int:
    window_m = int(minutes) + 3
    result = prometheus.query(f"sum(count_over_time({_SEQ_SERIES}[{window_m}m]))", timeout_s=30)
    return int(float(result[0]["value"][1])) if result else 0


def _memory_growth(series: Mapping[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, points in series.items():
        head = [v for t, v in points if t < points[0][0] + _GROWTH_WINDOW_S] or [0.0]
        tail = [v for t, v in points if t > points[-1][0] - _GROWTH_WINDOW_S] or [0.0]
        first, last = statistics.median(head), statistics.median(tail)
        out[name] = {
            "first_mib": round(first, 1),
            "last_mib": round(last, 1),
            "peak_mib": round(max(v for _, v in points), 1) if points else 0.0,
            "growth_ratio": round(last / first, 3) if first else 0.0,
        }
    return out


def _plot(series: Mapping[str, list[tuple[float, float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, points in sorted(series.items()):
        ax.plot([t / 60 for t, _ in points], [v for _, v in points], label=name)
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS (MiB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


@click.command(name="soak")
@click.option("--nodes", default=2000, show_default=True, help="Simulated nodes.")
@click.option("--minutes", default=10.0, show_default=True, help="Load duration.")
@click.option("--series", default=100, show_default=True, help="Series per node export.")
@click.option("--interval-s", default=10.0, show_default=True, help="Export interval per node.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("docs/soak-memory.png"),
    show_default=True,
    help="Where the memory-over-time plot goes.",
)
def command(nodes: int, minutes: float, series: int, interval_s: float, plot: Path) -> None:
    """The full stack under load: throughput, freshness p99, memory over time, loss."""
    console = Console(stderr=True)
    simulated = _Nodes(nodes, series)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        stack = _Stack(Path(tmp))
        try:
            console.print("starting Tansu, Prometheus, pipeline, API and a node agent ...")
            stack.start()
            sampler = _Sampler(stack)
            sampler.start()
            console.print(
                f"{nodes} nodes x {series} series every {interval_s:g} s, {minutes:g} min"
            )
            load_started = time.monotonic()
            simulated.run(stack.broker.bootstrap, interval_s, minutes * 60)
            load_s = time.monotonic() - load_started
            expected = simulated.acked
            deadline = time.monotonic() + 120
            stored = _stored_exports(stack.prometheus, minutes)
            while stored < expected and time.monotonic() < deadline:
                time.sleep(2)
                stored = _stored_exports(stack.prometheus, minutes)
            quantiles = _lag_quantiles(stack.pipeline_metrics_url, (0.5, 0.99))
            sampler.stop_event.set()
            sampler.join(30)
            crashed = [n for n, p in stack.daemons.items() if not p.running()]
        finally:
            stack.stop()
    written = sampler.written
    rate = (
        (written[-1][1] - written[0][1]) / (written[-1][0] - written[0][0])
        if len(written) > 1
        else 0.0
    )
    offered = nodes * simulated.samples_per_export / interval_s
    memory = _memory_growth(sampler.rss_mib)
    _plot(sampler.rss_mib, plot, f"soak: {nodes} nodes, {minutes:g} min (RSS per process)")
    figures: dict[str, Any] = {
        "nodes": nodes,
        "minutes": minutes,
        "load_s": round(load_s, 1),
        "offered_samples_per_s": round(offered),
        "written_samples_per_s": round(rate),
        "written_to_offered": round(rate / offered, 3) if offered else 0.0,
        "exports_acked": simulated.acked,
        "exports_failed": simulated.failed,
        "exports_stored": stored,
        "loss": simulated.acked - stored,
        "freshness_p50_s": round(quantiles[0.5], 3),
        "freshness_p99_s": round(quantiles[0.99], 3),
        "api_requests_ok": sampler.api_ok,
        "api_requests_failed": sampler.api_failed,
        "crashed": crashed,
        "memory_mib": memory,
        "plot": str(plot),
    }
    table = Table(title=f"soak: {nodes} nodes x {series} series, {minutes:g} min")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if key != "memory_mib":
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    for name, figure in memory.items():
        table.add_row(
            f"rss {name} (MiB)",
            f"{figure['first_mib']} -> {figure['last_mib']} (x{figure['growth_ratio']})",
        )
    Console().print(table)
    print(json.dumps(figures))
