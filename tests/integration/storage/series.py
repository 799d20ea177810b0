"""Series written straight into a store with remote write 1.0, as the pipeline writes them."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import httpx

from pipeline._remote_write import REMOTE_WRITE_HEADERS, RemoteWriteEncoder, snappy_block

__all__ = ["node_aggregates", "remote_write"]


def remote_write(
    url: str, series: Mapping[Sequence[tuple[str, str]], Sequence[tuple[int, float]]]
) -> httpx.Response:
    """POST one request; each key is a series' labels (``__name__`` included)."""
    body = RemoteWriteEncoder().encode(
        {tuple(sorted(labels)): samples for labels, samples in series.items()}
    )
    return httpx.post(url, content=snappy_block(body), headers=REMOTE_WRITE_HEADERS, timeout=10)


def node_aggregates(
    node: str,
    *,
    cpu_cores: float,
    memory_bytes: float,
    cpu_utilization: float = 0.0,
    at_ms: Sequence[int] | None = None,
    tier: str = "edge",
    site: str = "itest",
) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    """The pipeline's per-node aggregates a ranking reads, at ``at_ms`` (default: now)."""
    stamps = list(at_ms) if at_ms is not None else [int(time.time() * 1000)]
    values = {
        "continuum:node_cpu_cores": cpu_cores,
        "continuum:node_memory_bytes": memory_bytes,
        "continuum:node_cpu_utilization:avg1m": cpu_utilization,
        "continuum:node_cpu_utilization:avg5m": cpu_utilization,
        "continuum:node_cpu_utilization:stddev5m": 0.0,
        "continuum:node_memory_available_bytes:min1m": memory_bytes,
    }
    identity = (("node", node), ("site", site), ("tier", tier))
    return {
        (("__name__", name), *identity): [(ts, value) for ts in stamps]
        for name, value in values.items()
    }
