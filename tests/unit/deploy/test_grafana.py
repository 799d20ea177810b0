"""Grafana provisioning: the datasource the dashboards name, and the provider that loads them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from dashboards import DATASOURCE_UID

GRAFANA_DIR = Path(__file__).resolve().parents[3] / "deploy" / "grafana"


def test_datasource_is_the_one_every_dashboard_queries() -> None:
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning/datasources/continuum.yml").read_text()
    )
    (datasource,) = provisioning["datasources"]
    assert datasource["uid"] == DATASOURCE_UID
    assert datasource["type"] == "prometheus"
    assert datasource["isDefault"] is True
    for path in (GRAFANA_DIR / "dashboards").glob("*.json"):
        text = path.read_text()
        uids = {d["uid"] for d in _datasources(json.loads(text))}
        assert uids == {DATASOURCE_UID}, path.name


def test_provider_loads_files_without_ui_drift() -> None:
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning/dashboards/continuum.yml").read_text()
    )
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    assert provider["options"]["path"].startswith("/")


def _datasources(node: object) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            found.append(node["datasource"])
        for value in node.values():
            found += _datasources(value)
    elif isinstance(node, list):
        for value in node:
            found += _datasources(value)
    return found
