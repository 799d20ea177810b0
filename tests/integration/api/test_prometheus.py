"""The snapshot against a real Prometheus: its queries run, and an outage degrades, not crashes."""

from __future__ import annotations

from collections.abc import Callable

from continuum.services import PrometheusServer, wait_until
from scheduler_api._prometheus import PrometheusClient
from scheduler_api._snapshot import SNAPSHOT_QUERIES
from tests.integration.api.conftest import ApiDaemon


def test_every_snapshot_query_is_valid_promql(prometheus: PrometheusServer) -> None:
    client = PrometheusClient(prometheus.url)
    try:
        for expr in SNAPSHOT_QUERIES.values():
            client.query(expr)  # raises PrometheusQueryError on bad PromQL
    finally:
        client.close()


def test_outage_serves_the_last_snapshot_then_503_then_recovers(
    fresh_prometheus: PrometheusServer, api_daemon: Callable[..., ApiDaemon]
) -> None:
    api = api_daemon(fresh_prometheus.url, snapshot_max_age_s=4)
    wait_until(lambda: api.get("/readyz").status_code == 200, 30, "first snapshot")
    fresh_prometheus.stop()

    def degraded() -> bool:
        body = api.get("/v1/nodes").json()
        return bool(body.get("degraded"))

    wait_until(degraded, 15, "degraded answer")
    body = api.get("/v1/nodes").json()
    assert "Prometheus unavailable" in body["warning"]
    wait_until(lambda: api.post("/v1/rankings", {}).status_code == 503, 15, "503 past the bound")
    refused = api.post("/v1/rankings", {}).json()
    assert refused["error"] == "service_unavailable"
    assert "old (bound 4 s)" in refused["message"]
    assert api.get("/healthz").status_code == 200
    fresh_prometheus.start()
    wait_until(lambda: api.post("/v1/rankings", {}).status_code == 200, 30, "recovery")
    assert api.get("/v1/nodes").json()["degraded"] is False
