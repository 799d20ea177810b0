"""Kafka records of forwarded expositions (docs/architecture.md, "Kafka records").

::

    record = build_record(scrape, part, identity, target_url)
    record.key        # b"edge-01"
    record.headers    # [("content-type", b"application/openmetrics-text; version=1.0.0"), ...]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agents._otel._settings import IdentitySettings
from agents.forward._scrape import Scrape

__all__ = ["ForwardRecord", "build_record"]


@dataclass(frozen=True, slots=True)
class ForwardRecord:
    """One exposition (or part of one) waiting for Kafka.

    Attributes:
        key: the node id, so one node's records stay in order on one partition.
        value: the exposition bytes as scraped.
        headers: content type as received, identity and scrape time and target.
        created_at: Unix time of the scrape, to expire records Prometheus would reject (wall
            clock: a record may wait in the spool across restarts of the forwarder).
    """

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    created_at: float = field(default_factory=time.time)


def build_record(
    scrape: Scrape, body: bytes, identity: IdentitySettings, target_url: str
) -> ForwardRecord:
    """Build the record of one scraped exposition (``body`` is all of it or one part).

    Args:
        scrape: the scrape it came from (content type and time).
        body: the bytes to send.
        identity: the ``identity`` section.
        target_url: the scraped URL (``scrape.target``).
    """
    headers = [
        ("content-type", scrape.content_type.encode()),
        ("continuum.node.id", identity.node_id.encode()),
        ("continuum.tier", identity.tier.encode()),
        ("continuum.site", identity.site.encode()),
        ("scrape.timestamp_ms", str(scrape.timestamp_ms).encode()),
        ("scrape.target", target_url.encode()),
    ]
    return ForwardRecord(
        key=identity.node_id.encode(),
        value=body,
        headers=headers,
        created_at=scrape.timestamp_ms / 1000,
    )
