"""The forwarder: scrape any Prometheus/OpenMetrics endpoint and push it through Kafka.

A node behind NAT needs no inbound access: the forwarder scrapes a local exporter (node_exporter,
dcgm-exporter, an application) and produces each exposition, as received, to ``otlp_metrics``
keyed by node id with identity headers; the pipeline ingests it (docs/architecture.md)::

    from agents.forward import run
    run(Path("continuum.yaml"), "http://127.0.0.1:9100/metrics")   # blocks until SIGTERM

Errors: :class:`agents._otel.ConfigError` for bad settings or target; nothing else escapes
(scrape failures, broker outages and spool overflow are counted and logged once). While Kafka is
away, records wait in the agents' delivery queue, memory then the disk spool, and reach it in
order with their own scrape times once it is back.
"""

from __future__ import annotations

from agents.forward._forwarder import FORWARD_INSTRUMENTS, ForwardCollector, Forwarder
from agents.forward._main import build_forwarder, run
from agents.forward._records import ForwardRecord, build_record
from agents.forward._scrape import ACCEPT, Scrape, ScrapeError, Scraper
from agents.forward._sender import RecordQueue, RecordSender
from agents.forward._settings import ForwardSettings
from agents.forward._split import split_exposition

__all__ = [
    "ACCEPT",
    "FORWARD_INSTRUMENTS",
    "ForwardCollector",
    "ForwardRecord",
    "ForwardSettings",
    "Forwarder",
    "RecordQueue",
    "RecordSender",
    "Scrape",
    "ScrapeError",
    "Scraper",
    "build_forwarder",
    "build_record",
    "run",
    "split_exposition",
]
