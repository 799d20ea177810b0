"""deploy/alertmanager/alertmanager.yml in a real Alertmanager, delivering to the running API.

The shipped routes and receivers are used as they are; only the addresses (the compose and
Kubernetes service names) point at this test's API, token file and a capture webhook, and the
grouping waits are shortened. A critical node alert must reach both receivers, the API with
its bearer token, and the API must then hold the node unhealthy.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import yaml

from continuum.services import AlertmanagerServer, free_port

CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "alertmanager" / "alertmanager.yml"
_DEADLINE_S = 30.0


class _Capture(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class _ShippedAlertmanager(AlertmanagerServer):
    """An Alertmanager running a given configuration document."""

    def __init__(self, workdir: Path, document: dict[str, Any]):
        super().__init__("127.0.0.1", free_port(), workdir, webhook_url="unused")
        self.document = document

    def config(self) -> dict[str, Any]:
        return self.document


def _rendered(api_url: str, token_file: Path, capture_url: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    receivers = {r["name"]: r for r in document["receivers"]}
    api = receivers["continuum-api"]["webhook_configs"][0]
    api["url"] = f"{api_url}/v1/alerts"
    api["http_config"]["authorization"]["credentials_file"] = str(token_file)
    receivers["generic-webhook"]["webhook_configs"][0]["url"] = capture_url
    for route in [document["route"], *document["route"]["routes"]]:
        route["group_wait"] = "1s"
    return document


@pytest.fixture
def capture() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: ClassVar[list[dict[str, Any]]] = []
    handler = type("Handler", (_Capture,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_critical_node_alert_reaches_the_api_and_people(
    dashboard_stack: Any, capture: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    live = dashboard_stack.live
    capture_url, received = capture
    token_file = live.workdir / "token"
    alertmanager = _ShippedAlertmanager(
        tmp_path / "alertmanager", _rendered(live.api_url, token_file, capture_url)
    )
    alertmanager.start()
    try:
        alert = {
            "labels": {
                "alertname": "ContinuumNodeMemoryPressure",
                "node": live.node_id,
                "tier": "edge",
                "site": "itest",
                "severity": "critical",
                "scope": "node",
            },
            "annotations": {"summary": "Tasks stall on memory"},
        }
        response = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], timeout=5)
        assert response.status_code == 200, response.text

        def unhealthy() -> dict[str, list[str]]:
            body = httpx.get(f"{live.api_url}/v1/alerts", headers=live.headers(), timeout=5)
            result: dict[str, list[str]] = body.json()["unhealthy"]
            return result

        deadline = time.monotonic() + _DEADLINE_S
        while time.monotonic() < deadline and not (received and live.node_id in unhealthy()):
            time.sleep(0.2)
        assert live.node_id in unhealthy(), f"API never marked the node: {unhealthy()}"
        assert "ContinuumNodeMemoryPressure" in unhealthy()[live.node_id]
        (payload,) = received[:1]
        assert payload["version"] == "4"
        assert payload["alerts"][0]["labels"]["node"] == live.node_id
    finally:
        alertmanager.stop()
