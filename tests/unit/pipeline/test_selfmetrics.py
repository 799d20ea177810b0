"""Self-metrics: every family the worker exposes is catalogued; /metrics and /healthz answer."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pipeline import Worker, WorkerSettings
from pipeline._selfmetrics import MetricsServer
from pipeline.catalogue import CATALOGUE, SeriesType
from pipeline.catalogue._pipeline_self import PIPELINE_SELF_SERIES


def _worker() -> Worker:
    worker = Worker(WorkerSettings())
    worker.cleaner.drop("non_finite", 3)
    worker.cleaner.adjust("counter_reset")
    worker.metrics.records.labels("application/x-protobuf").inc()
    worker.metrics.dead_letters.labels("decode").inc()
    worker.metrics.requests.labels("2xx").inc()
    return worker


def test_every_self_metric_is_catalogued_with_its_type() -> None:
    worker = _worker()
    exposed = {}
    for family in worker.metrics.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        exposed[name] = family.type
    catalogued = {s.name: s.type for s in PIPELINE_SELF_SERIES}
    assert set(exposed) == set(catalogued)
    for name, kind in exposed.items():
        assert catalogued[name] == SeriesType(kind), name
        assert CATALOGUE[name].source == "pipeline"


def test_metrics_and_health_endpoints() -> None:
    worker = _worker()
    healthy = [True]
    server = MetricsServer("127.0.0.1", 0, worker.metrics.registry, healthy=lambda: healthy[0])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        text = httpx.get(f"{base}/metrics").text
        samples = {
            (s.name, tuple(s.labels.values())): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert samples[("continuum_pipeline_samples_dropped_total", ("non_finite",))] == 3
        assert samples[("continuum_pipeline_samples_adjusted_total", ("counter_reset",))] == 1
        assert samples[("continuum_pipeline_otlp_records_decoded_total", ("template",))] == 0
        response = httpx.get(f"{base}/metrics", headers={"Accept": "application/openmetrics-text"})
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert httpx.get(f"{base}/healthz").status_code == 200
        healthy[0] = False
        assert httpx.get(f"{base}/healthz").status_code == 503
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        server.stop()


def test_counters_with_known_reasons_start_at_zero() -> None:
    worker = Worker(WorkerSettings())  # nothing consumed, dropped or dead-lettered yet
    samples = {
        (s.name, s.labels.get("reason")): s.value
        for family in worker.metrics.registry.collect()
        for s in family.samples
    }
    assert samples[("continuum_pipeline_dead_letters_total", "parse")] == 0
    assert samples[("continuum_pipeline_dead_letters_total", "remote_write_rejected")] == 0
    assert samples[("continuum_pipeline_samples_dropped_total", "too_old")] == 0
    assert samples[("continuum_pipeline_samples_adjusted_total", "counter_reset")] == 0
    # Counting then moves the same series on.
    worker.cleaner.drop("too_old", 2)
    after = {
        s.labels.get("reason"): s.value
        for family in worker.metrics.registry.collect()
        for s in family.samples
        if s.name == "continuum_pipeline_samples_dropped_total"
    }
    assert after["too_old"] == 2
