"""Scrape-to-record: headers and key per the Kafka record contract, counters, settings."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from agents._otel import ConfigError, IdentitySettings, load_section
from agents.forward import (
    ForwardCollector,
    Forwarder,
    ForwardRecord,
    ForwardSettings,
    RecordQueue,
    RecordSender,
    Scraper,
    build_forwarder,
)

URL = "http://exporter.test/metrics"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
IDENTITY = IdentitySettings(node_id="edge-07", tier="edge", site="lab")


def _forwarder(handler, broker, spool: Path, *, max_message_bytes: int = 900_000) -> Forwarder:
    scraper = Scraper(URL, timeout_s=1, max_bytes=1 << 20, transport=httpx.MockTransport(handler))
    queue = RecordQueue(spool, max_memory_records=8)
    sender = RecordSender(
        queue, topic="otlp_metrics", producer_factory=broker.factory, max_age_s=60
    )
    return Forwarder(
        scraper,
        queue,
        sender,
        identity=IDENTITY,
        interval_s=1,
        max_message_bytes=max_message_bytes,
    )


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=b"# TYPE up gauge\nup 1\n# EOF\n", headers={"Content-Type": OM}
    )


def test_record_carries_key_and_contract_headers(broker, tmp_path: Path) -> None:
    forwarder = _forwarder(_ok, broker, tmp_path)
    before_ms = time.time_ns() // 1_000_000
    assert forwarder.scrape_once() == 1
    forwarder.sender.start()
    deadline = time.monotonic() + 5
    while not broker.records and time.monotonic() < deadline:
        time.sleep(0.01)
    forwarder.sender.shutdown()
    topic, key, value, headers = broker.records[0]
    assert (topic, key, value) == ("otlp_metrics", b"edge-07", b"# TYPE up gauge\nup 1\n# EOF\n")
    as_dict = dict(headers)
    assert as_dict["content-type"] == OM.encode()
    assert as_dict["continuum.node.id"] == b"edge-07"
    assert as_dict["continuum.tier"] == b"edge"
    assert as_dict["continuum.site"] == b"lab"
    assert as_dict["scrape.target"] == URL.encode()
    assert before_ms <= int(as_dict["scrape.timestamp_ms"]) <= time.time_ns() // 1_000_000


def test_large_exposition_becomes_several_records(broker, tmp_path: Path) -> None:
    body = "".join(f"# TYPE m{i} gauge\nm{i} {i}\n" for i in range(2000)).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "text/plain"})

    forwarder = _forwarder(handler, broker, tmp_path, max_message_bytes=10_000)
    parts = forwarder.scrape_once()
    assert parts == forwarder.queue.depth
    assert parts >= len(body) // 10_000


def test_failed_scrape_is_counted_and_queues_nothing(broker, tmp_path: Path) -> None:
    forwarder = _forwarder(lambda r: httpx.Response(500), broker, tmp_path)
    assert forwarder.scrape_once() == 0
    assert forwarder.scrapes_failed == 1
    assert forwarder.queue.depth == 0


def test_collector_reports_the_counters(broker, tmp_path: Path) -> None:
    forwarder = _forwarder(_ok, broker, tmp_path)
    forwarder.scrape_once()
    readings = ForwardCollector(forwarder).collect()
    names = {r.instrument for r in readings}
    assert names <= {spec.name for spec in ForwardCollector.instruments}
    by_outcome = {
        r.attributes["outcome"]: r.value
        for r in readings
        if r.instrument == "continuum.forward.scrapes"
    }
    assert by_outcome == {"ok": 1, "error": 0}
    depth = [r for r in readings if r.instrument == "continuum.forward.queue.depth"]
    assert depth[0].value == 1
    assert depth[0].attributes["scrape_target"] == URL


def test_timeout_above_interval_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("forward: {interval_s: 2, scrape_timeout_s: 5}\n")
    with pytest.raises(ConfigError, match="forward"):
        load_section(ForwardSettings, "forward", config)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("forward: {interval_s: 30}\n")
    monkeypatch.setenv("CONTINUUM_FORWARD__INTERVAL_S", "20")
    settings = load_section(ForwardSettings, "forward", config)
    assert settings.interval_s == 20
    assert settings.listen == "127.0.0.1:9468"


def test_target_must_be_an_http_url() -> None:
    from agents._otel import KafkaSettings

    with pytest.raises(ConfigError, match="--target"):
        build_forwarder(
            "ftp://x/metrics", identity=IDENTITY, kafka=KafkaSettings(), settings=ForwardSettings()
        )


def test_each_target_gets_its_own_spool(tmp_path: Path, monkeypatch) -> None:
    from agents.forward._main import with_target_spool

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    a = with_target_spool(ForwardSettings(), "http://127.0.0.1:9100/metrics")
    b = with_target_spool(ForwardSettings(), "http://[::1]:9400/metrics")
    assert a.spool_dir == tmp_path / "continuum" / "spool" / "forward-127.0.0.1_9100"
    assert b.spool_dir is not None
    assert b.spool_dir != a.spool_dir
    assert "/" not in b.spool_dir.name
    explicit = ForwardSettings(spool_dir=tmp_path / "mine")
    assert with_target_spool(explicit, "http://x:1/").spool_dir == tmp_path / "mine"


def test_the_records_spool_beside_the_self_telemetry(tmp_path: Path, broker) -> None:
    from agents._otel import KafkaSettings

    forwarder = build_forwarder(
        URL,
        identity=IDENTITY,
        kafka=KafkaSettings(),
        settings=ForwardSettings(spool_dir=tmp_path / "fw", queue_max_records=1),
    )
    forwarder.queue.set_reachable(False)
    for _ in range(3):
        forwarder.queue.put(ForwardRecord(b"edge-07", b"up 1\n", []))
    assert sorted(p.parent for p in tmp_path.rglob("*.msg")) == [tmp_path / "fw" / "records"] * 3
