"""The OTel resource of an agent, built from its identity (docs/contracts.md §3.1).

::

    resource = build_resource(identity, cpu_model="AMD EPYC 7B13")
    resource.attributes["continuum.node.id"]   # "edge-01"
    identity_labels(identity)                   # {"node": "edge-01", "tier": "edge", "site": "lab"}
"""

from __future__ import annotations

import platform
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents._otel._settings import IdentitySettings

__all__ = [
    "IDENTITY_ATTRIBUTES",
    "LABEL_PREFIX",
    "Resource",
    "build_resource",
    "host_arch",
    "identity_labels",
]

#: Resource attributes that become the ``node``, ``tier``, ``site`` labels on every series.
IDENTITY_ATTRIBUTES: dict[str, str] = {
    "continuum.node.id": "node",
    "continuum.tier": "tier",
    "continuum.site": "site",
}
#: Operator labels travel as resource attributes under this prefix.
LABEL_PREFIX = "continuum.label."


@dataclass(frozen=True, slots=True)
class Resource:
    """What every export of an agent describes: its attributes (the OTLP resource, and on
    ``/metrics`` the identity labels plus ``target_info``).

    Attributes:
        attributes: attribute keys to values, in the order they are exported.
    """

    attributes: Mapping[str, str] = field(default_factory=dict)


# platform.machine() names to the semconv host.arch values.
_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm32",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "i686": "x86",
    "i386": "x86",
}


def host_arch(machine: str | None = None) -> str:
    """The semconv ``host.arch`` of this machine (or of a ``platform.machine()`` value)."""
    raw = (machine if machine is not None else platform.machine()).lower()
    return _ARCH.get(raw, raw or "unknown")


def identity_labels(identity: IdentitySettings) -> dict[str, str]:
    """The Prometheus identity labels both delivery paths put on every series."""
    return {"node": identity.node_id, "tier": identity.tier, "site": identity.site}


def build_resource(
    identity: IdentitySettings,
    *,
    cpu_model: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> Resource:
    """Build the resource every exported metric carries.

    Args:
        identity: the ``identity`` section.
        cpu_model: ``host.cpu.model.name`` when known (the node agent reads it from cpuinfo).
        extra: further attributes (a container agent's runtime, for example).

    Returns:
        A resource with ``continuum.node.id``, ``continuum.tier``, ``continuum.site``,
        ``host.name``, ``host.arch``, ``os.type``, ``continuum.label.<key>`` and ``extra``.
    """
    attributes: dict[str, str] = {
        "continuum.node.id": identity.node_id,
        "continuum.tier": identity.tier,
        "continuum.site": identity.site,
        "host.name": socket.gethostname(),
        "host.arch": host_arch(),
        "os.type": platform.system().lower() or "linux",
    }
    if cpu_model:
        attributes["host.cpu.model.name"] = cpu_model
    for key, value in sorted(identity.labels.items()):
        attributes[LABEL_PREFIX + key] = value
    attributes.update(extra or {})
    # Exactly these attributes, none of an SDK's defaults (telemetry.sdk.*, service.name) or
    # OTEL_RESOURCE_ATTRIBUTES: pull and push must carry the same identity.
    return Resource(attributes)
