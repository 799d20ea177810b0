"""A real Alertmanager delivers webhook v4 payloads to the API: nodes turn unhealthy and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from continuum.services import PrometheusServer, wait_until
from tests.integration.api.conftest import ApiDaemon


def _post_alert(alertmanager_url: str, node: str, *, resolved: bool) -> None:
    now = dt.datetime.now(dt.UTC)
    alert: dict[str, Any] = {
        "labels": {"alertname": "ContinuumNodeDown", "node": node, "severity": "critical"},
        "annotations": {"summary": f"{node} is down"},
        "startsAt": (now - dt.timedelta(minutes=1)).isoformat(),
    }
    if resolved:
        alert["endsAt"] = (now - dt.timedelta(seconds=1)).isoformat()
    response = httpx.post(f"{alertmanager_url}/api/v2/alerts", json=[alert], timeout=5)
    response.raise_for_status()


def test_alertmanager_marks_a_node_unhealthy_then_clears_it(
    prometheus: PrometheusServer,
    alertmanager_factory: Callable[..., Any],
    api_daemon: Callable[..., ApiDaemon],
) -> None:
    api = api_daemon(prometheus.url)
    alertmanager = alertmanager_factory(f"{api.url}/v1/alerts", bearer_token_file=api.token_file)

    def unhealthy() -> dict[str, list[str]]:
        body: dict[str, list[str]] = api.get("/v1/alerts").json()["unhealthy"]
        return body

    _post_alert(alertmanager.url, "itest-down", resolved=False)
    wait_until(lambda: unhealthy() == {"itest-down": ["ContinuumNodeDown"]}, 30, "firing alert")
    _post_alert(alertmanager.url, "itest-down", resolved=True)
    wait_until(lambda: unhealthy() == {}, 30, "resolved alert")
    history = api.get("/v1/alerts?node=itest-down").json()["history"]
    assert [event["status"] for event in history][:2] == ["resolved", "firing"]
    assert history[-1]["labels"]["severity"] == "critical"


def test_alertmanager_without_the_alerts_scope_is_refused(
    prometheus: PrometheusServer, api_daemon: Callable[..., ApiDaemon]
) -> None:
    api = api_daemon(prometheus.url, tokens=[{"token": "reader", "scopes": ["read"]}])
    response = httpx.post(
        f"{api.url}/v1/alerts", json={"alerts": []}, headers={"Authorization": "Bearer reader"}
    )
    assert response.status_code == 403
