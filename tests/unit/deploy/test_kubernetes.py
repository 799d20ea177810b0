"""Kubernetes manifests: valid against the Kubernetes schemas (offline), and least privilege."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

KUBE_DIR = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30"
MANIFESTS = [
    p
    for p in sorted(KUBE_DIR.glob("*.yaml"))
    # The scheduler-extender configuration is not a cluster resource (it is read by
    # kube-scheduler), and kustomization.yaml is read by kubectl itself.
    if p.name != "kustomization.yaml"
]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
        for path in MANIFESTS
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _workloads() -> list[tuple[str, dict[str, Any]]]:
    return [(n, d) for n, d in _documents() if d["kind"] in ("DaemonSet", "Deployment")]


@pytest.mark.parametrize(("name", "doc"), _documents(), ids=[n for n, _ in _documents()])
def test_manifest_is_valid_against_the_schema(name: str, doc: dict[str, Any]) -> None:
    # strict: unknown fields are errors too (a misspelt securityContext key is silently ignored
    # by the API server otherwise).
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBE_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)


def test_the_workloads_are_all_there() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in _documents()}
    assert ("DaemonSet", "continuum-agents") in kinds
    assert ("Deployment", "continuum-pipeline") in kinds
    assert ("Deployment", "continuum-api") in kinds
    assert ("Service", "continuum-api") in kinds
    assert ("Service", "continuum-pipeline") in kinds
    agents = next(d for _, d in _workloads() if d["kind"] == "DaemonSet")
    commands = [c["args"][:2] for c in agents["spec"]["template"]["spec"]["containers"]]
    assert ["agent", "node"] in commands
    assert ["agent", "containers"] in commands


@pytest.mark.parametrize(("name", "doc"), _workloads(), ids=[n for n, _ in _workloads()])
def test_least_privilege(name: str, doc: dict[str, Any]) -> None:
    pod = doc["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    host_volumes = {v["name"] for v in pod.get("volumes", []) if "hostPath" in v}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        assert not security.get("privileged", False)
        assert container["resources"]["limits"]
        for mount in container.get("volumeMounts", []):
            if mount["name"] in host_volumes:
                assert mount.get("readOnly") is True, f"{container['name']}: {mount['name']}"


def test_embedded_configs_are_valid(promtool: str, tmp_path: Path) -> None:
    configmaps = {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == "ConfigMap"}
    prometheus = yaml.safe_load(configmaps["continuum-prometheus"]["data"]["prometheus.yml"])
    # Debian's Prometheus is built without Kubernetes service discovery, so promtool rejects
    # kubernetes_sd_configs: check those blocks here and the rest of the file with promtool.
    for job in prometheus["scrape_configs"]:
        for discovery in job.pop("kubernetes_sd_configs"):
            assert discovery == {"role": "pod", "namespaces": {"names": ["continuum"]}}
        job["static_configs"] = [{"targets": ["discovered:9464"]}]
        assert job["relabel_configs"][0]["action"] == "keep"
    prometheus_yml = tmp_path / "prometheus.yml"
    prometheus_yml.write_text(yaml.safe_dump(prometheus))
    result = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(prometheus_yml)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    continuum = yaml.safe_load(configmaps["continuum-config"]["data"]["continuum.yaml"])
    for section in ("identity", "kafka", "agent", "containers", "pipeline", "api"):
        assert section in continuum


def test_the_agents_pod_gets_the_rapl_group_that_the_readme_sets_up() -> None:
    # RAPL's energy_uj is root-only: the node's tmpfiles/udev rule gives a group read access,
    # and the pod runs with that group's id as a supplemental group, through a read-only /sys.
    agents = next(d for _, d in _workloads() if d["kind"] == "DaemonSet")
    pod = agents["spec"]["template"]["spec"]
    readme = (KUBE_DIR / "README.md").read_text()
    [gid] = re.findall(r"groupadd --system --gid (\d+) continuum", readme)
    assert f"supplementalGroups: [{gid}]" in readme
    assert pod["securityContext"]["supplementalGroups"] == [int(gid)]
    sys_volume = next(v for v in pod["volumes"] if v["name"] == "sys")
    assert sys_volume["hostPath"]["path"] == "/sys"
    node_agent = next(c for c in pod["containers"] if c["args"][:2] == ["agent", "node"])
    [mount] = [m for m in node_agent["volumeMounts"] if m["name"] == "sys"]
    assert mount["readOnly"] is True
    env = {e["name"]: e.get("value") for e in node_agent["env"]}
    assert env["CONTINUUM_AGENT__SYS_ROOT"] == mount["mountPath"]
    rules = (KUBE_DIR.parent / "systemd" / "continuum-rapl.tmpfiles.conf").read_text()
    assert "energy_uj 0440 root continuum" in rules
