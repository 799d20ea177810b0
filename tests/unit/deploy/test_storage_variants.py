"""The storage variants of deploy/ (docs/storage.md), checked structurally: the compose overrides
for VictoriaMetrics as the store, a long-term store behind Prometheus, and API replicas on
PostgreSQL; the Kubernetes overlay for API replicas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from continuum._victoria import VictoriaMetricsServer

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
COMPOSE = DEPLOY / "compose"
# Created by the operator, never committed.
OPERATOR_FILES = {"./secrets/api-token", "./postgres-secrets/password", "./postgres-secrets/pgpass"}
OVERRIDES = ("compose.victoriametrics.yaml", "compose.long-term.yaml", "compose.api-replicas.yaml")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPOSE / name).read_text())
    return document


@pytest.mark.parametrize("name", OVERRIDES)
def test_overrides_name_real_services_files_and_volumes(name: str) -> None:
    base, override = _load("compose.yaml"), _load(name)
    services = set(base["services"]) | set(override["services"])
    volumes = set(base["volumes"]) | set(override.get("volumes", {}))
    for service_name, service in override["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source in OPERATOR_FILES:
                assert (COMPOSE / source).parent.is_dir()
            elif source.startswith("."):
                assert (COMPOSE / source).exists(), f"{service_name}: {source}"
            else:
                assert source in volumes, f"{service_name}: {source}"
        assert set(service.get("depends_on", [])) <= services, service_name
        image = service.get("image")
        if image is not None:
            assert image.partition(":")[2] not in ("", "latest"), f"{service_name}: pin it"


def _flags(argv: list[str], prefix: str) -> set[str]:
    return {a for a in argv if a.startswith(prefix)}


@pytest.mark.parametrize("name", ["compose.victoriametrics.yaml", "compose.long-term.yaml"])
def test_victoriametrics_answers_like_continuum_up_starts_it(name: str, tmp_path: Path) -> None:
    command = _load(name)["services"]["victoria-metrics"]["command"]
    launched = VictoriaMetricsServer("127.0.0.1", 8428, tmp_path).argv()
    assert _flags(command, "-search.") == _flags(launched, "-search.")


def test_victoriametrics_is_the_store_of_everything_in_its_variant() -> None:
    services = _load("compose.victoriametrics.yaml")["services"]
    assert services["pipeline"]["environment"]["CONTINUUM_PIPELINE__REMOTE_WRITE_URL"] == (
        "http://victoria-metrics:8428/api/v1/write"
    )
    assert services["api"]["environment"]["CONTINUUM_API__PROMETHEUS_URL"] == (
        "http://victoria-metrics:8428"
    )
    vmalert = services["vmalert"]
    assert "-rule=/etc/prometheus/rules/*.yml" in vmalert["command"]
    assert "-notifier.url=http://alertmanager:9093" in vmalert["command"]
    assert "../prometheus/rules:/etc/prometheus/rules:ro" in vmalert["volumes"]
    # Grafana's dashboards find their datasource by uid: the same uid, another URL.
    ours = yaml.safe_load((COMPOSE / "victoriametrics" / "grafana-datasources.yml").read_text())
    base = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "continuum.yml").read_text()
    )
    assert ours["datasources"][0]["uid"] == base["datasources"][0]["uid"]
    assert ours["datasources"][0]["url"] == "http://victoria-metrics:8428"
    # Prometheus only forwards its scrapes there: no rules, no alerts from it.
    prometheus = yaml.safe_load((COMPOSE / "prometheus.victoriametrics.yml").read_text())
    assert "rule_files" not in prometheus
    assert "alerting" not in prometheus
    assert prometheus["remote_write"] == [{"url": "http://victoria-metrics:8428/api/v1/write"}]


def test_the_long_term_prometheus_is_the_production_one_plus_remote_write() -> None:
    production = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    long_term = yaml.safe_load((COMPOSE / "prometheus.long-term.yml").read_text())
    (remote,) = long_term.pop("remote_write")
    assert remote["url"] == "http://victoria-metrics:8428/api/v1/write"
    assert long_term == production


@pytest.mark.parametrize("name", ["prometheus.long-term.yml", "prometheus.victoriametrics.yml"])
def test_prometheus_configs_are_valid(name: str, promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(COMPOSE / name)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_replicas_share_postgresql() -> None:
    services = _load("compose.api-replicas.yaml")["services"]
    for name in ("api", "api-2"):
        environment = services[name]["environment"]
        assert environment["CONTINUUM_API__DATABASE"] == (
            "postgresql://continuum@postgres:5432/continuum"
        )
        assert environment["PGPASSFILE"] == "/run/secrets/pgpass"
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["api-2"]["command"] == _load("compose.yaml")["services"]["api"]["command"]
    assert "--locale=C" in services["postgres"]["environment"]["POSTGRES_INITDB_ARGS"]


def _overlay(name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The overlay as kubectl builds it, each resource checked against the Kubernetes schemas."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (it builds the kustomization)")
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    built = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes-overlays" / name)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    documents = [d for d in yaml.safe_load_all(built) if d]
    for document in documents:
        kubernetes_validate.validate(document, "1.30", strict=True)
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}


def _env(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container.get("env", [])}


def test_the_kubernetes_overlay_runs_api_replicas_on_postgresql() -> None:
    kinds = _overlay("api-replicas")
    assert ("PersistentVolumeClaim", "continuum-api-data") not in kinds
    api = kinds[("Deployment", "continuum-api")]
    assert api["spec"]["replicas"] > 1
    assert api["spec"]["strategy"]["type"] == "RollingUpdate"
    env = _env(api)
    assert env["CONTINUUM_API__DATABASE"]["valueFrom"]["secretKeyRef"]["name"] == (
        "continuum-api-postgres"
    )
    assert "XDG_STATE_HOME" in env  # the base's environment is kept
    volumes = {v["name"]: v for v in api["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["data"]


def test_the_kubernetes_overlay_stores_in_victoriametrics(tmp_path: Path) -> None:
    kinds = _overlay("victoriametrics")
    store = kinds[("StatefulSet", "victoria-metrics")]
    (container,) = store["spec"]["template"]["spec"]["containers"]
    launched = VictoriaMetricsServer("127.0.0.1", 8428, tmp_path).argv()
    assert _flags(container["args"], "-search.") == _flags(launched, "-search.")
    url = "http://victoria-metrics.continuum.svc:8428"
    assert kinds[("Service", "victoria-metrics")]["spec"]["ports"][0]["port"] == 8428
    pipeline = _env(kinds[("Deployment", "continuum-pipeline")])
    assert pipeline["CONTINUUM_PIPELINE__REMOTE_WRITE_URL"]["value"] == f"{url}/api/v1/write"
    api = _env(kinds[("Deployment", "continuum-api")])
    assert api["CONTINUUM_API__PROMETHEUS_URL"]["value"] == url
    assert "XDG_STATE_HOME" in api
    (vmalert,) = kinds[("Deployment", "continuum-vmalert")]["spec"]["template"]["spec"][
        "containers"
    ]
    assert f"-datasource.url={url}" in vmalert["args"]
    assert f"-remoteWrite.url={url}" in vmalert["args"]
