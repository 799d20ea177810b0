"""The pipeline worker against real Tansu and Prometheus: cleaning, dead letters, crash, outage."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from continuum.services import ManagedProcess, PrometheusServer, TansuBroker
from tests.integration.pipeline.conftest import PipelineRun
from tests.unit.pipeline.otlp_factory import Payload

RunFactory = Callable[[str, str], PipelineRun]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _seq_record(metric: str, seq: int, ts_ms: int | None = None) -> tuple[str, bytes]:
    node = f"node-{seq % 7}"
    payload = (
        Payload()
        .resource(node)
        .gauge(metric, [(ts_ms or _now_ms(), float(seq), {"seq": str(seq)})])
    )
    return node, bytes(payload)


def _count(prometheus: PrometheusServer, expr: str) -> int:
    result = prometheus.query(f"count({expr})")
    return int(float(result[0]["value"][1])) if result else 0


def _wait_count(
    prometheus: PrometheusServer, expr: str, expected: int, timeout_s: float, run: PipelineRun
) -> None:
    deadline = time.monotonic() + timeout_s
    count = 0
    while time.monotonic() < deadline:
        count = _count(prometheus, expr)
        if count >= expected:
            break
        time.sleep(0.25)
    assert count == expected, (
        f"{count} of {expected} series of {expr}; committed {run.committed()} "
        f"of {run.end_offsets()}\n{run.logs()}"
    )


def _first_worker(
    run: PipelineRun, prometheus: PrometheusServer, what: str
) -> tuple[ManagedProcess, str, str]:
    """Start a worker on a fresh metric and wait until its first sample landed."""
    tag = secrets.token_hex(3)
    metric, name = f"itest.{what}.{tag}", f"itest_{what}_{tag}"
    run.send(*_seq_record(metric, 0))
    run.flush()
    worker = run.start_worker()
    _wait_count(prometheus, name, 1, 30, run)
    return worker, metric, name


def _wait_at_least(prometheus: PrometheusServer, name: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while _count(prometheus, name) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def _wait_all_committed(run: PipelineRun, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while run.committed() != run.end_offsets() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert run.committed() == run.end_offsets()


def _wait_partitions(worker: ManagedProcess, ok: Callable[[float], bool], run: PipelineRun) -> None:
    deadline = time.monotonic() + 60
    held = 0.0
    while time.monotonic() < deadline:
        url = worker.metrics_url  # type: ignore[attr-defined]
        held = _self_metric(url, "continuum_pipeline_assigned_partitions").get("", 0.0)
        if ok(held):
            return
        time.sleep(0.25)
    raise AssertionError(f"worker holds {held} partitions\n{run.logs()}")


def _self_metric(run_worker_url: str, name: str) -> dict[str, float]:
    text = httpx.get(run_worker_url, timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[",".join(sample.labels.values())] = sample.value
    return out


def test_bad_and_good_samples_mixed_every_good_one_lands(
    tansu: TansuBroker, prometheus: PrometheusServer, pipeline_run_factory: RunFactory
) -> None:
    run = pipeline_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    tag = secrets.token_hex(3)
    metric = f"itest.mixed.{tag}"
    name = f"itest_mixed_{tag}"
    now = _now_ms()
    good = 0
    for i in range(20):
        points = [(now, float(i), {"seq": f"{i}-ok"})]
        points.append((now, math.nan, {"seq": f"{i}-nan"}))
        points.append((now + 3_600_000, 1.0, {"seq": f"{i}-future"}))
        points.append((now - 3_600_000, 1.0, {"seq": f"{i}-old"}))
        payload = (
            Payload()
            .resource(f"mixed-{i % 3}")
            .gauge(metric, points)
            .gauge(metric, [(now, 1.0, {"a.b": "x", "a_b": "y", "seq": f"{i}-collide"})])
            .sum(metric + ".c", [(now, -5, {"seq": f"{i}-negative"})])
        )
        run.send(f"mixed-{i % 3}", bytes(payload))
        good += 1
    run.send("mixed-0", b"\x0a\xff\xff\xff\xff garbage")
    run.send("mixed-0", b"{}", content_type="application/json")
    text = (
        f'# TYPE {name}_text gauge\n{name}_text{{seq="t1"}} 1\n{name}_text{{seq="t2"}} NaN\n# EOF\n'
    )
    run.send(
        "fw",
        text.encode(),
        content_type="application/openmetrics-text; version=1.0.0",
        headers={
            "continuum.node.id": "fw",
            "continuum.tier": "edge",
            "continuum.site": "x",
            "scrape.timestamp_ms": str(now),
        },
    )
    # A stock Collector's kafkaexporter (otlp_proto) keyed by node: no headers, no continuum
    # attributes; the key names the node.
    collector = (
        Payload().resource(None, tier="", site="").gauge(metric, [(now, 1.0, {"seq": "collector"})])
    )
    run.send("collector-node", bytes(collector), content_type=None)
    run.flush()
    worker = run.start_worker()

    _wait_count(prometheus, f'{name}{{node="collector-node"}}', 1, 30, run)
    good += 1
    _wait_count(prometheus, name, good, 30, run)
    _wait_count(prometheus, f'{name}_text{{node="fw"}}', 1, 10, run)
    series = prometheus.query(name)
    assert {s["metric"]["seq"] for s in series} == {f"{i}-ok" for i in range(20)} | {"collector"}
    assert all(
        s["metric"]["tier"] == "edge" and s["metric"]["site"] == "lab"
        for s in series
        if s["metric"]["seq"] != "collector"
    )
    assert _count(prometheus, f"{name}_total") == 0

    letters = run.dead_letters(2)
    reasons = sorted(dict(m.headers)["error.reason"].decode() for m in letters)
    assert reasons == ["content_type", "decode"]
    for message in letters:
        headers = dict(message.headers)
        assert int(headers["source.offset"]) >= 0
        assert int(headers["source.partition"]) >= 0
        assert headers["error.detail"]
    assert {m.value for m in letters} == {b"\x0a\xff\xff\xff\xff garbage", b"{}"}

    dropped = _self_metric(worker.metrics_url, "continuum_pipeline_samples_dropped_total")  # type: ignore[attr-defined]
    assert dropped["non_finite"] == 21
    assert dropped["future_timestamp"] == 20
    assert dropped["too_old"] == 20
    assert dropped["label_collision"] == 20
    assert dropped["negative_counter"] == 20
    # Every record is accounted for: offsets reach the end once all was acknowledged.
    _wait_all_committed(run)


def _produce_stream(
    run: PipelineRun, metric: str, count: int, per_batch: int, pause_s: float
) -> threading.Thread:
    def produce() -> None:
        for start in range(0, count, per_batch):
            for seq in range(start, min(start + per_batch, count)):
                run.send(*_seq_record(metric, seq))
            run.flush()
            time.sleep(pause_s)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_stream_and_restarted_loses_nothing(
    tansu: TansuBroker, prometheus: PrometheusServer, pipeline_run_factory: RunFactory
) -> None:
    run = pipeline_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    worker, metric, name = _first_worker(run, prometheus, "kill")
    total = 3000
    producer = _produce_stream(run, metric, total, per_batch=100, pause_s=0.05)
    # Kill once part of the stream has landed and more is in flight.
    _wait_at_least(prometheus, name, 300)
    worker.kill()
    landed_at_kill = _count(prometheus, name)
    assert landed_at_kill < total, "the stream ended before the kill: nothing was mid-stream"
    run.start_worker()
    producer.join(60)
    _wait_count(prometheus, name, total, 60, run)


def test_prometheus_down_30s_loses_nothing_and_commits_nothing_early(
    fresh_tansu: TansuBroker, fresh_prometheus: PrometheusServer, pipeline_run_factory: RunFactory
) -> None:
    run = pipeline_run_factory(fresh_tansu.bootstrap, fresh_prometheus.remote_write_url)
    _worker, metric, name = _first_worker(run, fresh_prometheus, "outage")
    _wait_all_committed(run)
    before = run.committed()

    fresh_prometheus.stop()
    total = 500
    for seq in range(1, total + 1):
        run.send(*_seq_record(metric, seq))
    run.flush()
    outage_end = time.monotonic() + 30
    while time.monotonic() < outage_end:
        moved = {p: o for p, o in run.committed().items() if o != before.get(p, 0)}
        assert not moved, f"offsets committed while Prometheus was down: {moved}"
        time.sleep(1.0)
    fresh_prometheus.start()

    _wait_count(fresh_prometheus, name, total + 1, 60, run)
    _wait_all_committed(run)


def test_workers_joining_and_leaving_the_group_lose_nothing(
    tansu: TansuBroker, prometheus: PrometheusServer, pipeline_run_factory: RunFactory
) -> None:
    run = pipeline_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    first, metric, name = _first_worker(run, prometheus, "rebalance")
    total = 2000
    producer = _produce_stream(run, metric, total, per_batch=50, pause_s=0.05)
    second = run.start_worker()  # joins: partitions are split between the two
    _wait_partitions(second, lambda held: held >= 1, run)
    _wait_at_least(prometheus, name, total // 2)
    first.stop()  # graceful leave: its partitions move to the second worker
    _wait_partitions(second, lambda held: held == 4, run)
    producer.join(60)
    _wait_count(prometheus, name, total, 60, run)
    records = _self_metric(second.metrics_url, "continuum_pipeline_records_total")  # type: ignore[attr-defined]
    assert sum(records.values()) > 0
