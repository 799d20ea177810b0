"""Faults on the push path, counted exactly: agent spool -> Kafka -> pipeline -> Prometheus.

Each test produces sequence-numbered samples (one series each) and checks that every one lands
(zero loss, docs/contracts.md §5) and how long the stack took to catch up after the fault.
``CONTINUUM_SOAK=1`` stretches the outages to the 60 s the issue names.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from continuum.services import PrometheusServer, TansuBroker
from tests.integration.pipeline.test_pipeline import _self_metric
from tests.reliability.conftest import TunedRunFactory
from tests.reliability.faults import SeqProducer, landed, record_figure, wait_for

LONG = os.environ.get("CONTINUUM_SOAK") == "1"
BROKER_OUTAGE_S = 60.0 if LONG else 20.0
PROMETHEUS_OUTAGE_S = 60.0 if LONG else 10.0
KILLS = 5 if LONG else 2

# kafka-python leaves the sockets of connection attempts to a stopped broker to the garbage
# collector; the outages provoke exactly that, on purpose.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_leaked_sockets"),
]


def _names() -> tuple[str, str]:
    tag = secrets.token_hex(3)
    return f"rel.fault.{tag}", f"rel_fault_{tag}"


def _above(prometheus: PrometheusServer, name: str, count: int) -> Callable[[], bool]:
    return lambda: landed(prometheus, name) > count


def _hold(seconds: float, *alive: object) -> None:
    """Keep the fault on for ``seconds``, checking that the given workers stay up."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for worker in alive:
            assert worker.running(), "a worker died during the fault"  # type: ignore[attr-defined]
        time.sleep(0.5)


def test_broker_outage_loses_nothing(
    fresh_tansu: TansuBroker,
    prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(fresh_tansu.bootstrap, prometheus.remote_write_url)
    metric, name = _names()
    producer = SeqProducer(tmp_path, fresh_tansu.bootstrap, run.topic, metric, interval_s=0.02)
    producer.start()
    worker = run.start_worker()
    wait_for(lambda: landed(prometheus, name) >= 50, 30, "first samples")
    # Tansu keeps records in memory only: what it acknowledged but the worker had not read yet
    # would die with it (Apache Kafka keeps it). Stop it with nothing unread, then load it.
    producer.pause()
    wait_for(lambda: landed(prometheus, name) >= producer.sent, 30, "the stream to drain")
    fresh_tansu.stop()
    producer.resume()
    _hold(BROKER_OUTAGE_S, worker)
    spooled = producer.queue.depth
    sent_at_restart = producer.sent
    fresh_tansu.start()
    recovery_s = wait_for(
        lambda: landed(prometheus, name) >= sent_at_restart, 120, "the outage's samples"
    )
    producer.stop()
    wait_for(
        lambda: landed(prometheus, name) >= producer.sent,
        60,
        f"every sample ({landed(prometheus, name)} of {producer.sent}, "
        f"{producer.queue.depth} queued)\n{run.logs()}",
    )
    assert landed(prometheus, name) == producer.sent
    assert producer.queue.dropped_messages == 0
    assert worker.running()
    record_figure(
        "broker_outage",
        outage_s=BROKER_OUTAGE_S,
        sent=producer.sent,
        lost=producer.sent - landed(prometheus, name),
        spooled_at_restart=spooled,
        recovery_s=round(recovery_s, 1),
    )


def test_worker_sigkilled_repeatedly_under_load_loses_nothing(
    tansu: TansuBroker,
    prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    metric, name = _names()
    producer = SeqProducer(tmp_path, tansu.bootstrap, run.topic, metric, interval_s=0.005)
    producer.start()
    run.start_worker()
    recoveries = []
    for _ in range(KILLS):
        floor = landed(prometheus, name)
        wait_for(_above(prometheus, name, floor + 99), 30, "progress")
        run.workers[-1].kill()
        at_kill = landed(prometheus, name)
        restart = time.monotonic()
        run.start_worker()
        wait_for(_above(prometheus, name, at_kill), 60, "progress after restart")
        recoveries.append(time.monotonic() - restart)
    producer.stop()
    wait_for(lambda: landed(prometheus, name) >= producer.sent, 60, "every sample")
    assert landed(prometheus, name) == producer.sent
    record_figure(
        f"worker_sigkill_x{KILLS}",
        sent=producer.sent,
        lost=producer.sent - landed(prometheus, name),
        recovery_s_max=round(max(recoveries), 1),
        recovery_s=[round(r, 1) for r in recoveries],  # type: ignore[arg-type]
    )


def test_prometheus_outage_loses_nothing(
    tansu: TansuBroker,
    fresh_prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(tansu.bootstrap, fresh_prometheus.remote_write_url)
    metric, name = _names()
    producer = SeqProducer(tmp_path, tansu.bootstrap, run.topic, metric, interval_s=0.02)
    producer.start()
    worker = run.start_worker()
    wait_for(lambda: landed(fresh_prometheus, name) >= 50, 30, "first samples")
    fresh_prometheus.stop()
    _hold(PROMETHEUS_OUTAGE_S, worker)
    sent_at_restart = producer.sent
    restart = time.monotonic()
    fresh_prometheus.start()
    wait_for(lambda: landed(fresh_prometheus, name) >= sent_at_restart, 120, "backlog")
    recovery_s = time.monotonic() - restart
    producer.stop()
    wait_for(lambda: landed(fresh_prometheus, name) >= producer.sent, 60, "every sample")
    assert landed(fresh_prometheus, name) == producer.sent
    record_figure(
        "prometheus_outage",
        outage_s=PROMETHEUS_OUTAGE_S,
        sent=producer.sent,
        lost=producer.sent - landed(fresh_prometheus, name),
        recovery_s=round(recovery_s, 1),
    )


def test_a_producer_clock_jumped_forward_is_dropped_without_harming_others(
    tansu: TansuBroker,
    prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(tansu.bootstrap, prometheus.remote_write_url)
    metric, name = _names()
    skewed_metric, skewed_name = f"{metric}.skewed", f"{name}_skewed"
    honest = SeqProducer(tmp_path, tansu.bootstrap, run.topic, metric, node_prefix="ok")
    skewed = SeqProducer(
        tmp_path, tansu.bootstrap, run.topic, skewed_metric, node_prefix="jump", skew_ms=3_600_000
    )
    worker = run.start_worker()
    for producer in (honest, skewed):
        producer.sender.start()
        producer.put(200)
    wait_for(lambda: landed(prometheus, name) >= 200, 30, "the honest producer's samples")
    url = worker.metrics_url  # type: ignore[attr-defined]
    wait_for(
        lambda: (
            _self_metric(url, "continuum_pipeline_samples_dropped_total").get("future_timestamp", 0)
            >= 200
        ),
        30,
        "the skewed samples counted",
    )
    assert landed(prometheus, skewed_name) == 0
    # The clock is put right: the node's next samples land at once.
    skewed.skew_ms = 0
    fixed = time.monotonic()
    skewed.put(50)
    honest.put(50)
    recovery_s = wait_for(lambda: landed(prometheus, skewed_name) >= 50, 30, "after the fix")
    wait_for(lambda: landed(prometheus, name) >= 250, 30, "honest samples")
    for producer in (honest, skewed):
        producer.stop()
    assert landed(prometheus, name) == 250
    assert landed(prometheus, skewed_name) == 50
    dropped = _self_metric(url, "continuum_pipeline_samples_dropped_total")
    assert dropped["future_timestamp"] == 200
    record_figure(
        "clock_jump_1h",
        skewed_dropped=int(dropped["future_timestamp"]),
        honest_lost=250 - landed(prometheus, name),
        recovery_s=round(time.monotonic() - fixed if recovery_s else 0.0, 1),
    )
