"""Runtime metadata lookups: caching, retry after a miss, forgetting vanished containers."""

from __future__ import annotations

import json
from pathlib import Path

from agents.containers._metadata import RETRY_AFTER_S, Metadata, MetadataResolver, MetadataSources

CID = "9" * 64


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _write_docker(root: Path, labels: dict[str, str]) -> None:
    config = root / "containers" / CID / "config.v2.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps({"Name": "/k8s_app", "Config": {"Image": "app:1", "Labels": labels}})
    )


def test_miss_is_retried_only_after_the_retry_delay(tmp_path: Path) -> None:
    clock = _Clock()
    resolver = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path), clock=clock)
    assert resolver.lookup("docker", CID) == Metadata()
    _write_docker(tmp_path, {})
    assert resolver.lookup("docker", CID) == Metadata()  # still within the retry delay
    clock.now += RETRY_AFTER_S
    assert resolver.lookup("docker", CID) == Metadata(name="k8s_app", image="app:1")


def test_dockershim_labels_name_the_pod(tmp_path: Path) -> None:
    _write_docker(
        tmp_path,
        {
            "io.kubernetes.container.name": "app",
            "io.kubernetes.pod.name": "web-0",
            "io.kubernetes.pod.namespace": "shop",
        },
    )
    resolver = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path))
    assert resolver.lookup(None, CID) == Metadata("app", "app:1", "web-0", "shop")


def test_hits_are_cached_and_forgotten_with_the_container(tmp_path: Path) -> None:
    _write_docker(tmp_path, {})
    resolver = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path))
    assert resolver.lookup("docker", CID).name == "k8s_app"
    (tmp_path / "containers" / CID / "config.v2.json").write_text("{not json")
    assert resolver.lookup("docker", CID).name == "k8s_app"  # cached, not re-read
    resolver.forget_except(set())
    assert resolver.lookup("docker", CID) == Metadata()  # unreadable now: id alone, no error


def test_a_task_container_names_its_workflow_and_task(tmp_path: Path) -> None:
    _write_docker(tmp_path, {"continuum.workflow": "3f2a", "continuum.task": "square_part"})
    meta = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path)).lookup("docker", CID)
    assert (meta.workflow, meta.task) == ("3f2a", "square_part")


def test_containerd_annotations_name_the_workflow_and_task(tmp_path: Path) -> None:
    spec = tmp_path / "io.containerd.runtime.v2.task" / "default" / CID / "config.json"
    spec.parent.mkdir(parents=True)
    annotations = {"continuum.workflow": "run-7", "continuum.task": "mine"}
    spec.write_text(json.dumps({"annotations": annotations}))
    meta = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path)).lookup("containerd", CID)
    assert (meta.workflow, meta.task) == ("run-7", "mine")
    # A container of no workflow has neither.
    _write_docker(tmp_path, {})
    plain = MetadataResolver(MetadataSources(tmp_path, tmp_path, tmp_path)).lookup("docker", CID)
    assert (plain.workflow, plain.task) == (None, None)


def test_the_workflow_and_task_become_the_labels_the_task_series_carry() -> None:
    from agents.containers._collector import identity_attributes
    from agents.containers._discovery import ContainerGroup
    from agents.containers._naming import ContainerRef

    group = ContainerGroup(ContainerRef(CID, "docker", None, f"docker/{CID}"))
    attributes = identity_attributes(group, Metadata(name="w", workflow="3f2a", task="mine"))
    assert (attributes["workflow"], attributes["task"]) == ("3f2a", "mine")
    assert "workflow" not in identity_attributes(group, Metadata(name="w"))
