"""Names, images and pods of containers, from the runtimes' own state files.

Every lookup is best effort: a runtime whose files are missing or unreadable leaves the
container with its id alone, never an error. Sources, by runtime:

- docker: ``<docker_root>/containers/<id>/config.v2.json`` (``Name``, ``Config.Image``; the
  dockershim labels ``io.kubernetes.*`` for pods).
- containerd: the OCI bundle ``<containerd_state>/io.containerd.runtime.v2.task/<ns>/<id>/
  config.json``, whose annotations the CRI plugin fills (``io.kubernetes.cri.*``).
- CRI-O and podman: ``<storage_root>/overlay-containers/<id>/userdata/config.json``
  annotations (``io.kubernetes.*``), and podman's ``containers.json`` for names.

A container started for a workflow task carries the labels (docker, podman) or OCI annotations
(containerd, CRI-O) ``continuum.workflow`` and ``continuum.task``; they become the ``workflow``
and ``task`` of its series, the labels the task series of ``continuum run`` carry, so node,
workflow and task join in PromQL.

Usage::

    resolver = MetadataResolver(MetadataSources())
    meta = resolver.lookup("docker", container_id)      # Metadata(name=..., image=..., ...)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TASK_KEY", "WORKFLOW_KEY", "Metadata", "MetadataResolver", "MetadataSources"]

_log = logging.getLogger(__name__)

#: A container whose metadata was not found is looked up again after this long (runtimes may
#: write their state a moment after creating the group).
RETRY_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class MetadataSources:
    """Where each runtime keeps its state (prefix with ``/host`` inside a DaemonSet)."""

    docker_root: Path = Path("/var/lib/docker")
    containerd_state: Path = Path("/run/containerd")
    storage_root: Path = Path("/var/lib/containers/storage")


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the runtime says about a container; ``None`` where it does not say."""

    name: str | None = None
    image: str | None = None
    pod_name: str | None = None
    namespace: str | None = None
    workflow: str | None = None
    task: str | None = None


_EMPTY = Metadata()
#: The label or annotation keys naming the workflow run and task a container serves.
WORKFLOW_KEY = "continuum.workflow"
TASK_KEY = "continuum.task"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_kubernetes_labels(
    labels: dict[str, Any], name: str | None, image: str | None
) -> Metadata:
    """Metadata from the ``io.kubernetes.*`` labels CRI runtimes and dockershim set."""
    return Metadata(
        name=_str(labels.get("io.kubernetes.container.name")) or name,
        image=image,
        pod_name=_str(labels.get("io.kubernetes.pod.name")),
        namespace=_str(labels.get("io.kubernetes.pod.namespace")),
        workflow=_str(labels.get(WORKFLOW_KEY)),
        task=_str(labels.get(TASK_KEY)),
    )


class MetadataResolver:
    """Look container metadata up once per container, with a retry for misses.

    Args:
        sources: where the runtimes keep their state.
        clock: monotonic seconds (injected by tests).
    """

    def __init__(self, sources: MetadataSources, clock: Any = time.monotonic) -> None:
        self._sources = sources
        self._clock = clock
        self._cache: dict[str, Metadata] = {}
        self._misses: dict[str, float] = {}

    def lookup(self, runtime: str | None, container_id: str) -> Metadata:
        """The metadata of one container (cached; empty when no runtime knows it)."""
        cached = self._cache.get(container_id)
        if cached is not None:
            return cached
        missed_at = self._misses.get(container_id)
        if missed_at is not None and self._clock() - missed_at < RETRY_AFTER_S:
            return _EMPTY
        meta = self._resolve(runtime, container_id)
        if meta is None:
            self._misses[container_id] = self._clock()
            return _EMPTY
        self._misses.pop(container_id, None)
        self._cache[container_id] = meta
        return meta

    def forget_except(self, live_ids: set[str]) -> None:
        """Drop what is cached for containers that are gone."""
        for cache in (self._cache, self._misses):
            for container_id in [c for c in cache if c not in live_ids]:
                del cache[container_id]

    def _resolve(self, runtime: str | None, container_id: str) -> Metadata | None:
        order = {
            "docker": (self._docker,),
            "containerd": (self._containerd,),
            "crio": (self._crio,),
            "podman": (self._crio,),
        }.get(runtime or "", (self._containerd, self._crio, self._docker))
        for source in order:
            meta = source(container_id)
            if meta is not None:
                return meta
        return None

    def _docker(self, container_id: str) -> Metadata | None:
        config = _load_json(
            self._sources.docker_root / "containers" / container_id / "config.v2.json"
        )
        if not isinstance(config, dict):
            return None
        inner = _dict(config.get("Config"))
        name = _str(config.get("Name"))
        labels = _dict(inner.get("Labels"))
        return _from_kubernetes_labels(
            labels, name.lstrip("/") if name else None, _str(inner.get("Image"))
        )

    def _containerd(self, container_id: str) -> Metadata | None:
        tasks = self._sources.containerd_state / "io.containerd.runtime.v2.task"
        try:
            namespaces = [p for p in tasks.iterdir() if p.is_dir()]
        except OSError:
            return None
        for namespace in namespaces:
            spec = _load_json(namespace / container_id / "config.json")
            if not isinstance(spec, dict):
                continue
            notes = _dict(spec.get("annotations"))
            # The CRI plugin's annotations (containerd pkg/cri/annotations).
            return Metadata(
                name=_str(notes.get("io.kubernetes.cri.container-name")),
                image=_str(notes.get("io.kubernetes.cri.image-name")),
                pod_name=_str(notes.get("io.kubernetes.cri.sandbox-name")),
                namespace=_str(notes.get("io.kubernetes.cri.sandbox-namespace")),
                workflow=_str(notes.get(WORKFLOW_KEY)),
                task=_str(notes.get(TASK_KEY)),
            )
        return None

    def _crio(self, container_id: str) -> Metadata | None:
        storage = self._sources.storage_root / "overlay-containers"
        spec = _load_json(storage / container_id / "userdata" / "config.json")
        notes = _dict(_dict(spec).get("annotations"))
        name: str | None = None
        image = _str(notes.get("io.kubernetes.cri-o.ImageName"))
        # podman records names and images in the storage's container list.
        listing = _load_json(storage / "containers.json")
        if isinstance(listing, list):
            for entry in listing:
                if isinstance(entry, dict) and entry.get("id") == container_id:
                    names = entry.get("names")
                    if isinstance(names, list) and names:
                        name = _str(names[0])
                    metadata = _load_json_string(entry.get("metadata"))
                    image = image or _str(metadata.get("image-name"))
                    break
        if not notes and name is None:
            return None
        return _from_kubernetes_labels(notes, name, image)


def _load_json_string(value: Any) -> dict[str, Any]:
    """podman stores a JSON document inside a string field."""
    if not isinstance(value, str):
        return {}
    try:
        loaded = json.loads(value)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
