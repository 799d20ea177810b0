"""Alertmanager config: valid, and routes every alert to the scheduler API and to people."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "alertmanager" / "alertmanager.yml"


def test_amtool_check_config(amtool: str) -> None:
    result = subprocess.run([amtool, "check-config", str(CONFIG)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "labels",
    [
        ["alertname=ContinuumNodeDown", "node=edge-01", "severity=critical", "scope=node"],
        ["alertname=ContinuumPipelineLagging", "severity=warning", "scope=fleet"],
    ],
)
def test_every_alert_reaches_the_api_and_the_generic_webhook(
    amtool: str, labels: list[str]
) -> None:
    result = subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            "--verify.receivers=continuum-api,generic-webhook",
            *labels,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_receiver_posts_to_v1_alerts_with_a_bearer_token_file() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    (webhook,) = receivers["continuum-api"]["webhook_configs"]
    assert webhook["url"].endswith("/v1/alerts")
    # The API clears a node's unhealthy mark on resolve.
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials_file"].startswith("/")
