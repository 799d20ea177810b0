"""Settings of the container agent (section ``containers`` of continuum.yaml)::

settings = load_section(ContainersSettings, "containers", Path("continuum.yaml"))
"""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import Field

from agents._otel._settings import AgentSettings
from agents.containers._discovery import DEFAULT_MAX_DEPTH
from agents.containers._kubelet import KubeletPods
from agents.containers._metadata import MetadataSources

__all__ = ["DEFAULT_LISTEN", "ContainersSettings"]

DEFAULT_LISTEN = "127.0.0.1:9467"
DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_PROC_ROOT = Path("/proc")
_SOURCES = MetadataSources()


class ContainersSettings(AgentSettings):
    """The container agent: the shared agent keys plus where to find cgroups and runtimes."""

    listen: str = Field(DEFAULT_LISTEN, description="host:port where /metrics is served")
    cgroup_root: Path = Field(
        DEFAULT_CGROUP_ROOT, description="where cgroups are mounted (v2, v1 controllers or both)"
    )
    proc_root: Path = Field(DEFAULT_PROC_ROOT, description="procfs mount of the host")
    docker_root: Path = Field(_SOURCES.docker_root, description="docker's data root")
    containerd_state: Path = Field(
        _SOURCES.containerd_state, description="containerd's state directory"
    )
    storage_root: Path = Field(
        _SOURCES.storage_root, description="containers/storage root of CRI-O and podman"
    )
    network_exclude: list[str] = Field(
        default_factory=lambda: ["lo"], description="interface names left out of network counters"
    )
    max_depth: int = Field(
        DEFAULT_MAX_DEPTH, ge=1, le=64, description="how deep to walk each cgroup hierarchy"
    )

    kubelet_url: str | None = Field(
        None,
        description="kubelet pod list naming pods, e.g. https://127.0.0.1:10250/pods (off if null)",
    )
    kubelet_token_file: Path | None = Field(
        None, description="bearer token file for the kubelet (a service account token)"
    )
    kubelet_ca_file: Path | None = Field(None, description="CA bundle of the kubelet's certificate")
    kubelet_insecure: bool = Field(
        False, description="skip TLS verification of the kubelet (self-signed serving certs)"
    )

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
