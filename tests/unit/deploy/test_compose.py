"""The production compose file, checked structurally (no container engine runs here).

Checked: the services and their images, Kafka in KRaft mode, every bind mount's source exists,
dependencies name real services, Prometheus' config passes promtool, and the Continuum
services run real CLI commands.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from continuum.cli import cli

COMPOSE_DIR = Path(__file__).resolve().parents[3] / "deploy" / "compose"
# Created by the operator, never committed.
OPERATOR_FILES = {"./secrets/api-token"}
KAFKA_BROKERS = ("kafka-1", "kafka-2", "kafka-3")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return document


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {name: s["image"].split(":")[0] for name, s in services.items()}
    for broker in KAFKA_BROKERS:
        assert images[broker] == "apache/kafka"
    assert images["prometheus"] == "prom/prometheus"
    assert images["alertmanager"] == "prom/alertmanager"
    assert images["grafana"] == "grafana/grafana"
    for name, service in services.items():
        tag = service["image"].partition(":")[2]
        assert tag, f"{name}: pin the image version"
        assert tag != "latest", f"{name}: pin the image version"


def test_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    cluster_ids = set()
    for node_id, broker in enumerate(KAFKA_BROKERS, start=1):
        env = compose["services"][broker]["environment"]
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert env["KAFKA_NODE_ID"] == node_id
        assert f"{node_id}@{broker}:9093" in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert "ZOOKEEPER" not in " ".join(env)
        cluster_ids.add(env["CLUSTER_ID"])
    assert len(cluster_ids) == 1


def test_bind_mounts_exist_and_dependencies_are_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    named_volumes = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if source not in OPERATOR_FILES:
                    assert (COMPOSE_DIR / source).exists(), f"{name}: {source}"
                else:
                    assert (COMPOSE_DIR / source).parent.is_dir()
            else:
                assert source in named_volumes, f"{name}: {source}"
        assert set(service.get("depends_on", [])) <= set(services), name


def test_prometheus_config_is_valid(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(COMPOSE_DIR / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_mounts_match_the_provider(compose: dict[str, Any]) -> None:
    provider_file = COMPOSE_DIR.parent / "grafana/provisioning/dashboards/continuum.yml"
    provider = yaml.safe_load(provider_file.read_text())["providers"][0]
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"


def test_continuum_services_run_real_commands(compose: dict[str, Any]) -> None:
    for name in ("pipeline", "api", "node-agent"):
        command = compose["services"][name]["command"]
        config_at = command.index("--config")
        result = CliRunner().invoke(cli, [*command[:config_at], "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"
