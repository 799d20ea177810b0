"""Helpers for the node agent's integration tests: a config file, a raw consumer, OTLP decoding."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with a deprecated importlib API.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer, TopicPartition


def write_config(path: Path, bootstrap: str, port: int, spool_dir: Path, **agent: Any) -> Path:
    """A continuum.yaml for one node agent at a 1 s interval."""
    config = {
        "identity": {"node_id": "itest-node", "tier": "edge", "site": "itest"},
        "kafka": {"bootstrap_servers": bootstrap, "request_timeout_ms": 2000},
        "agent": {
            "listen": f"127.0.0.1:{port}",
            "interval_s": 1,
            "spool_dir": str(spool_dir),
            **agent,
        },
    }
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Consumed:
    """What was read back from the topic."""

    key: bytes
    headers: dict[str, bytes]
    request: ExportMetricsServiceRequest


def point_ids(
    request: ExportMetricsServiceRequest,
) -> set[tuple[str, tuple[tuple[str, str], ...], int]]:
    """One id per data point: metric name, attributes, timestamp (duplicates collapse)."""
    ids = set()
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                for dp in getattr(metric, kind).data_points:
                    attrs = tuple(sorted((kv.key, str(kv.value)) for kv in dp.attributes))
                    ids.add((metric.name, attrs, dp.time_unix_nano))
    return ids


def consume_all(
    bootstrap: str, topic: str, until: Callable[[list[Consumed]], bool], timeout_s: float
) -> list[Consumed]:
    """Read the topic from the beginning (every partition, no group) until ``until`` holds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout_s
        partitions: set[int] | None = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            assert time.monotonic() < deadline, f"topic {topic} never appeared"
            if not partitions:
                time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        out: list[Consumed] = []
        while not until(out):
            assert time.monotonic() < deadline, f"only {len(out)} records within {timeout_s} s"
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    request = ExportMetricsServiceRequest()
                    request.ParseFromString(record.value)
                    out.append(Consumed(record.key, dict(record.headers), request))
        return out
    finally:
        consumer.close()
