"""Settings of the container agent (section ``containers`` of continuum.yaml)::

settings = load_section(ContainersSettings, "containers", Path("continuum.yaml"))
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

from msgspec import Meta, field

from agents._otel._settings import AgentSettings
from agents.containers._discovery import DEFAULT_MAX_DEPTH
from agents.containers._kubelet import KubeletPods
from agents.containers._metadata import MetadataSources

__all__ = ["DEFAULT_LISTEN", "ContainersSettings"]

DEFAULT_LISTEN = "127.0.0.1:9467"
DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_PROC_ROOT = Path("/proc")
_SOURCES = MetadataSources()


class ContainersSettings(AgentSettings, kw_only=True):
    """The container agent: the shared agent keys plus where to find cgroups and runtimes."""

    listen: Annotated[str, Meta(description="host:port where /metrics is served")] = DEFAULT_LISTEN
    cgroup_root: Annotated[
        Path, Meta(description="where cgroups are mounted (v2, v1 controllers or both)")
    ] = DEFAULT_CGROUP_ROOT
    proc_root: Annotated[Path, Meta(description="procfs mount of the host")] = DEFAULT_PROC_ROOT
    docker_root: Annotated[Path, Meta(description="docker's data root")] = _SOURCES.docker_root
    containerd_state: Annotated[Path, Meta(description="containerd's state directory")] = (
        _SOURCES.containerd_state
    )
    storage_root: Annotated[
        Path, Meta(description="containers/storage root of CRI-O and podman")
    ] = _SOURCES.storage_root
    network_exclude: Annotated[
        list[str], Meta(description="interface names left out of network counters")
    ] = field(default_factory=lambda: ["lo"])
    max_depth: Annotated[
        int, Meta(ge=1, le=64, description="how deep to walk each cgroup hierarchy")
    ] = DEFAULT_MAX_DEPTH

    kubelet_url: Annotated[
        str | None,
        Meta(
            description="kubelet pod list naming pods, e.g. https://127.0.0.1:10250/pods "
            "(off if null)"
        ),
    ] = None
    kubelet_token_file: Annotated[
        Path | None, Meta(description="bearer token file for the kubelet (a service account token)")
    ] = None
    kubelet_ca_file: Annotated[
        Path | None, Meta(description="CA bundle of the kubelet's certificate")
    ] = None
    kubelet_insecure: Annotated[
        bool, Meta(description="skip TLS verification of the kubelet (self-signed serving certs)")
    ] = False

    def metadata_sources(self) -> MetadataSources:
        """Where the runtimes keep their state, as configured."""
        return MetadataSources(self.docker_root, self.containerd_state, self.storage_root)

    def kubelet(self) -> KubeletPods | None:
        """The kubelet pod lookup, when ``kubelet_url`` is set."""
        if self.kubelet_url is None:
            return None
        verify: ssl.SSLContext | bool = not self.kubelet_insecure
        if self.kubelet_ca_file is not None and not self.kubelet_insecure:
            verify = ssl.create_default_context(cafile=str(self.kubelet_ca_file))
        return KubeletPods(self.kubelet_url, token_file=self.kubelet_token_file, verify=verify)
