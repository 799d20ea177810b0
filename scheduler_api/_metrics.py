"""The API's self-metrics, in a registry of its own (catalogued in pipeline/catalogue/_api.py).

metrics = ApiMetrics()
metrics.rankings.labels(caller="rankings").inc()
text = metrics.render()
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

__all__ = ["ApiMetrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class ApiMetrics:
    """Every self-metric the API exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "continuum_api_requests",
            "HTTP requests answered, by route template, method and status code.",
            ("route", "method", "code"),
            registry=r,
        )
        self.request_duration = Histogram(
            "continuum_api_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ("route", "method"),
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.snapshot_age = Gauge(
            "continuum_api_snapshot_age_seconds",
            "Age of the cluster snapshot rankings are served from.",
            registry=r,
        )
        self.snapshot_nodes = Gauge(
            "continuum_api_snapshot_nodes", "Nodes in the cluster snapshot.", registry=r
        )
        self.refresh_duration = Histogram(
            "continuum_api_snapshot_refresh_duration_seconds",
            "Time to refresh the cluster snapshot from Prometheus.",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.refresh_failures = Counter(
            "continuum_api_snapshot_refresh_failures",
            "Snapshot refreshes that failed, by reason (unavailable, query).",
            ("reason",),
            registry=r,
        )
        self.rankings = Counter(
            "continuum_api_rankings",
            "Rankings computed, by caller (rankings, extender).",
            ("caller",),
            registry=r,
        )
        self.alerts_received = Counter(
            "continuum_api_alerts_received",
            "Alerts received from Alertmanager, by status (firing, resolved).",
            ("status",),
            registry=r,
        )
        self.unhealthy_nodes = Gauge(
            "continuum_api_unhealthy_nodes", "Nodes marked unhealthy by firing alerts.", registry=r
        )
        self.pending = Gauge(
            "continuum_api_pending_reservations",
            "Placements counted against nodes until their metrics show them.",
            registry=r,
        )

    def render(self) -> bytes:
        """The classic text exposition of every self-metric."""
        return generate_latest(self.registry)
