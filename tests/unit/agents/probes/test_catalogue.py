"""The probe and forwarder instruments translate to exactly the catalogued Prometheus series."""

from __future__ import annotations

import warnings
from pathlib import Path

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agents._otel import Agent, AgentSettings, IdentitySettings, KafkaSettings
from agents.forward import FORWARD_INSTRUMENTS
from agents.probes import (
    PROBE_INSTRUMENTS,
    ProbeCollector,
    ProbeResult,
    ProbeRunner,
    ProbesSettings,
    ResultStore,
    ThroughputResponder,
)

with warnings.catch_warnings():
    # Importing the pipeline package imports kafka-python, whose first import calls the
    # deprecated importlib.resources.read_text; that is not ours to fix here.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pipeline.catalogue import NODE_IDENTITY_LABELS, lookup
    from pipeline.catalogue._probes import FORWARD_SERIES, PROBE_SERIES

IDENTITY = IdentitySettings(node_id="n1", tier="edge", site="lab")


def _store() -> ResultStore:
    store = ResultStore()
    store.put(ProbeResult("kafka", "tcp", True, 0.002, peer="n2", peer_site="s2", rtt_s=0.001))
    store.put(ProbeResult("ping", "icmp", True, 0.001, rtt_s=0.0005))
    store.put(
        ProbeResult(
            "web", "http", False, 0.1, status_code=503, cert_expiry_s=2e9, failure="http_status"
        )
    )
    store.put(
        ProbeResult(
            "bw",
            "throughput",
            True,
            0.5,
            peer="n3",
            throughput_bytes_per_s=1e8,
            transferred_bytes=1,
        )
    )
    return store


def _rendered(collector: object, instruments: object) -> dict[str, object]:
    settings = AgentSettings(listen="127.0.0.1:0", push=False)
    agent = Agent("t", [collector], identity=IDENTITY, kafka=KafkaSettings(), settings=settings)  # type: ignore[list-item]
    try:
        agent.run_cycle()
        text = generate_latest(agent.registry).decode()
    finally:
        agent.shutdown()
    return {family.name: family for family in text_string_to_metric_families(text)}


def _check(families: dict[str, object], catalogued_otel: set[str]) -> set[str]:
    seen = set()
    for family in families.values():
        for sample in family.samples:  # type: ignore[attr-defined]
            try:
                series = lookup(sample.name)
            except KeyError:
                continue
            if series.otel_name not in catalogued_otel:
                continue
            seen.add(series.name)
            extra = set(sample.labels) - set(NODE_IDENTITY_LABELS)
            assert extra == set(series.labels), (sample.name, sample.labels)
            assert {sample.labels[k] for k in NODE_IDENTITY_LABELS} == {"n1", "edge", "lab"}
    return seen


def test_probe_instruments_are_catalogued_with_their_labels() -> None:
    runner = ProbeRunner(ProbesSettings(), ResultStore(), icmp_allowed=False)
    runner.responder = ThroughputResponder(max_size_bytes=1024)
    families = _rendered(ProbeCollector(_store(), runner), PROBE_INSTRUMENTS)
    probe_series = {s.name for s in PROBE_SERIES if s.source == "probes"}
    seen = _check(families, {spec.name for spec in PROBE_INSTRUMENTS})
    assert seen == probe_series
    assert {s.otel_name for s in PROBE_SERIES if s.source == "probes"} == {
        spec.name for spec in PROBE_INSTRUMENTS
    }
    rtt = families["continuum_probe_rtt_seconds"]
    kinds = {s.labels["probe_kind"] for s in rtt.samples}  # type: ignore[attr-defined]
    assert kinds == {"tcp", "icmp"}, "only link round trips are RTT series"


def test_forward_instruments_are_catalogued_with_their_labels(tmp_path: Path) -> None:
    import httpx

    from agents.forward import Forwarder, RecordQueue, RecordSender, Scraper

    scraper = Scraper(
        "http://x.test/metrics",
        timeout_s=1,
        max_bytes=1024,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"up 1\n")),
    )
    queue = RecordQueue(tmp_path, max_memory_records=4)
    # Never started: the counters are read, nothing is sent.
    sender = RecordSender(queue, topic="t", producer_factory=object, max_age_s=1)
    forwarder = Forwarder(
        scraper, queue, sender, identity=IDENTITY, interval_s=1, max_message_bytes=10_000
    )
    forwarder.scrape_once()
    from agents.forward import ForwardCollector

    families = _rendered(ForwardCollector(forwarder), FORWARD_INSTRUMENTS)
    seen = _check(families, {spec.name for spec in FORWARD_INSTRUMENTS})
    assert seen == {s.name for s in FORWARD_SERIES}
