"""Recognise containers and Kubernetes pods from cgroup directory names.

Container runtimes name their groups after the container id, and the kubelet names pod groups
after the pod uid and QoS class; both layouts exist with the systemd and the cgroupfs drivers::

    system.slice/docker-<id>.scope                                   docker, systemd driver
    docker/<id>                                                      docker, cgroupfs driver
    kubepods.slice/kubepods-burstable.slice/
        kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope  containerd, systemd driver
    kubepods/besteffort/pod<uid>/<id>                                 any CRI, cgroupfs driver
    kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope           CRI-O, guaranteed QoS
    machine.slice/libpod-<id>.scope, libpod_parent/libpod-<id>        podman

Usage::

    pod = parse_pod("kubepods-burstable-pod0f1e_22.slice")   # PodRef(uid="0f1e-22", ...)
    ref = parse_container("docker-" + "a" * 64 + ".scope", parent="docker", pod=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ContainerRef",
    "PodRef",
    "is_kubepods_root",
    "parse_container",
    "parse_pod",
]

_HEX_ID = r"[0-9a-f]{64}"

# Group-name prefixes of each runtime (cAdvisor's container handlers match the same names).
_RUNTIME_PREFIXES = {
    "docker": "docker",
    "cri-containerd": "containerd",
    "containerd": "containerd",
    "crio": "crio",
    "libpod": "podman",
}

# `<prefix>-<id>.scope` (systemd driver) or `<prefix>-<id>` (cgroupfs driver, CRI-O/podman).
_PREFIXED = re.compile(
    rf"^(?P<prefix>docker|cri-containerd|containerd|crio|libpod)-(?P<id>{_HEX_ID})(?:\.scope)?$"
)
# `<parent slice>:<prefix>:<id>`: containerd's systemd cgroup path when it runs nested in a unit.
_COLON = re.compile(rf"^.*:(?P<prefix>docker|cri-containerd|containerd|crio):(?P<id>{_HEX_ID})$")
_BARE = re.compile(rf"^(?P<id>{_HEX_ID})$")
# Conmon (CRI-O, podman) monitors live in sibling groups that are not containers.
_CONMON = re.compile(r"^(?:crio|libpod)-conmon-")

_POD_SYSTEMD = re.compile(
    r"^kubepods(?:-(?P<qos>burstable|besteffort))?-pod(?P<uid>[0-9a-fA-F_]+)\.slice$"
)
_POD_CGROUPFS = re.compile(r"^pod(?P<uid>[0-9a-fA-F-]+)$")
_QOS_DIRS = ("burstable", "besteffort")
_KUBEPODS_DIRS = ("kubepods", "kubepods.slice")


@dataclass(frozen=True, slots=True)
class PodRef:
    """A Kubernetes pod's cgroup.

    Attributes:
        uid: the pod uid, dashed as the API server shows it.
        qos_class: ``guaranteed``, ``burstable`` or ``besteffort``.
    """

    uid: str
    qos_class: str


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container recognised from its cgroup path.

    Attributes:
        id: the container id (64 hex digits).
        runtime: ``docker``, ``containerd``, ``crio`` or ``podman``; ``None`` when the name
            alone does not say (cgroupfs driver under ``kubepods``).
        pod: the pod it belongs to, when it runs under ``kubepods``.
        rel_path: the group's path relative to the hierarchy root (``/``-separated).
    """

    id: str
    runtime: str | None
    pod: PodRef | None
    rel_path: str


def parse_pod(name: str, parent: str) -> PodRef | None:
    """Recognise a pod group by its directory name.

    Args:
        name: the directory name (``kubepods-besteffort-pod<uid>.slice`` or ``pod<uid>``).
        parent: the parent directory's name; it holds the QoS class in the cgroupfs layout.

    Returns:
        The pod, or ``None`` when the name is not a pod group.
    """
    match = _POD_SYSTEMD.match(name)
    if match is not None:
        # systemd cannot have dashes inside a unit name's component, so the kubelet writes the
        # uid with underscores (kubelet cgroup_manager_linux.go, escapeSystemdCgroupName).
        uid = match["uid"].replace("_", "-").lower()
        return PodRef(uid=uid, qos_class=match["qos"] or "guaranteed")
    match = _POD_CGROUPFS.match(name)
    if match is not None:
        qos = parent if parent in _QOS_DIRS else "guaranteed"
        return PodRef(uid=match["uid"].lower(), qos_class=qos)
    return None


def is_kubepods_root(name: str) -> bool:
    """Tell whether a directory is the kubelet's root group (pods live below it)."""
    return name in _KUBEPODS_DIRS


def parse_container(
    name: str, parent: str, pod: PodRef | None, rel_path: str
) -> ContainerRef | None:
    """Recognise a container group by its directory name.

    Args:
        name: the directory name.
        parent: the parent directory's name (``docker`` marks the cgroupfs docker layout).
        pod: the enclosing pod, if any.
        rel_path: the group's path relative to the hierarchy root.

    Returns:
        The container, or ``None`` when the name is not a container group.
    """
    if _CONMON.match(name):
        return None
    match = _PREFIXED.match(name) or _COLON.match(name)
    if match is not None:
        return ContainerRef(match["id"], _RUNTIME_PREFIXES[match["prefix"]], pod, rel_path)
    match = _BARE.match(name)
    if match is not None and (pod is not None or parent == "docker"):
        runtime = "docker" if parent == "docker" else None
        return ContainerRef(match["id"], runtime, pod, rel_path)
    return None
