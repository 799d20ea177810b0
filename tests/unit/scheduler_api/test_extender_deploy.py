"""The kube-scheduler configuration points at the API's extender routes; manifests validate."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from scheduler_api._extender import MAX_EXTENDER_PRIORITY

FOLDER = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes" / "scheduler-extender"


def test_scheduler_config_names_the_api_extender_routes(client: TestClient) -> None:
    config = yaml.safe_load((FOLDER / "kube-scheduler-config.yaml").read_text())
    assert config["kind"] == "KubeSchedulerConfiguration"
    (extender,) = config["extenders"]
    prefix = extender["urlPrefix"]
    assert prefix.startswith("http://continuum-api.continuum.svc:8080")
    path = prefix.split(":8080", 1)[1]
    paths = client.get("/openapi.json").json()["paths"]
    for verb in ("filterVerb", "prioritizeVerb"):
        assert f"{path}/{extender[verb]}" in paths
    assert extender["nodeCacheCapable"] is True
    assert extender["ignorable"] is True
    assert MAX_EXTENDER_PRIORITY == 10
    schedulers = {p["schedulerName"] for p in config["profiles"]}
    assert schedulers == {"continuum-scheduler"}


@pytest.mark.parametrize(
    "document",
    list(yaml.safe_load_all((FOLDER / "scheduler.yaml").read_text())),
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_manifests_validate_against_kubernetes_schemas(document: dict[str, object]) -> None:
    kubernetes_validate.validate(document, "1.31.0", strict=True)


def test_kustomization_ships_the_config_as_the_mounted_configmap() -> None:
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    deployment = next(
        d
        for d in yaml.safe_load_all((FOLDER / "scheduler.yaml").read_text())
        if d["kind"] == "Deployment"
    )
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert volumes[0]["configMap"]["name"] == generator["name"]
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert any(arg.endswith("/" + generator["files"][0]) for arg in command)
