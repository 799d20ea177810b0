"""The kube-scheduler configuration points at the API's extender routes over mutual TLS; the
manifests and the API's mutual-TLS patch validate; the shipped certificate script issues what the
configuration names."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from fastapi.testclient import TestClient

from scheduler_api._extender import MAX_EXTENDER_PRIORITY
from scheduler_api._settings import Scope, load_settings
from scheduler_api._subjects import parse_subject

FOLDER = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes" / "scheduler-extender"


def test_scheduler_config_names_the_api_extender_routes(client: TestClient) -> None:
    config = yaml.safe_load((FOLDER / "kube-scheduler-config.yaml").read_text())
    assert config["kind"] == "KubeSchedulerConfiguration"
    (extender,) = config["extenders"]
    prefix = extender["urlPrefix"]
    assert prefix.startswith("https://continuum-api.continuum.svc:8080")
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


def _deployment(documents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == name)


def test_the_scheduler_presents_its_mounted_client_certificate() -> None:
    config = yaml.safe_load((FOLDER / "kube-scheduler-config.yaml").read_text())
    (extender,) = config["extenders"]
    assert extender["enableHTTPS"] is True
    deployment = _deployment(
        list(yaml.safe_load_all((FOLDER / "scheduler.yaml").read_text())), "continuum-scheduler"
    )
    pod = deployment["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {"client-tls": "continuum-scheduler-tls"}
    for key, file in (("certFile", "tls.crt"), ("keyFile", "tls.key"), ("caFile", "ca.crt")):
        assert extender["tlsConfig"][key] == f"{mounts['client-tls']}/{file}"


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The stack, the scheduler and the API's mutual-TLS patch, as an overlay renders them."""
    root = tmp_path_factory.mktemp("overlay")
    shutil.copytree(FOLDER.parent, root / "base")
    (root / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": ["base", "base/scheduler-extender"],
                "patches": [{"path": "base/scheduler-extender/api-mutual-tls.yaml"}],
            }
        )
    )
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(root)], capture_output=True, text=True, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


def test_the_patched_api_serves_mutual_tls_and_maps_the_scheduler(
    overlay: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for document in overlay:
        kubernetes_validate.validate(document, "1.31.0", strict=True)
    pod = _deployment(overlay, "continuum-api")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["XDG_STATE_HOME"] == "/var/lib/continuum"  # the base's env is kept
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert {"config", "token", "data", "tls"} <= set(mounts)
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets["tls"] == "continuum-api-tls"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    for name, value in env.items():
        if name.startswith("CONTINUUM_API__"):
            monkeypatch.setenv(name, value)
    settings = load_settings(None)
    assert settings.tls_client_ca_file == Path(mounts["tls"]) / "ca.crt"
    assert settings.tls_certfile is not None
    assert settings.tls_certfile.parent == Path(mounts["tls"])
    subjects = {parse_subject(c.subject): set(c.scopes) for c in settings.client_certificates}
    assert subjects == {parse_subject("CN=continuum-scheduler,O=continuum"): {Scope.SCHEDULE}}


def test_issued_certificates_fit_the_configuration(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(
        ["sh", str(FOLDER / "issue-certificates.sh"), str(tmp_path)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DAYS": "2"},
    )
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    api = x509.load_pem_x509_certificate((tmp_path / "api.crt").read_bytes())
    scheduler = x509.load_pem_x509_certificate((tmp_path / "scheduler.crt").read_bytes())
    for issued in (api, scheduler):
        issued.verify_directly_issued_by(ca)
    names = api.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    # The host kube-scheduler's urlPrefix names.
    config = yaml.safe_load((FOLDER / "kube-scheduler-config.yaml").read_text())
    host = urllib.parse.urlsplit(config["extenders"][0]["urlPrefix"]).hostname
    assert host in names.get_values_for_type(x509.DNSName)
    # The subject the API maps to `schedule`, read the way the API reads a peer certificate.
    subject = parse_subject(scheduler.subject.rfc4514_string())
    patch = yaml.safe_load((FOLDER / "api-mutual-tls.yaml").read_text())
    env = {e["name"]: e["value"] for e in patch["spec"]["template"]["spec"]["containers"][0]["env"]}
    (mapped,) = yaml.safe_load(env["CONTINUUM_API__CLIENT_CERTIFICATES"])
    assert subject == parse_subject(mapped["subject"])
    assert all(p.stat().st_mode & 0o077 == 0 for p in tmp_path.glob("*.key"))
