"""Settings of the node agent: section ``agent`` of continuum.yaml.

On top of the keys every agent shares (listen, interval_s, spool_dir, spool_max_bytes, TLS and
basic auth on /metrics), each collector can be switched off and the readers pointed at other
roots (``CONTINUUM_AGENT__COLLECTORS__GPU=false``, ``CONTINUUM_AGENT__PROC_ROOT=/host/proc``)::

    agent:
      interval_s: 10
      collectors: {gpu: false}
      mount_timeout_s: 1
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from agents._otel import AgentSettings
from agents.node._disk import DEFAULT_DISK_SKIP
from agents.node._filesystem import DEFAULT_IGNORED_FS_TYPES, DEFAULT_IGNORED_MOUNTPOINTS
from agents.node._network import DEFAULT_INTERFACE_SKIP

__all__ = ["DEFAULT_LISTEN", "NodeCollectorSwitches", "NodeSettings"]

DEFAULT_LISTEN = "127.0.0.1:9464"


class NodeCollectorSwitches(BaseModel):
    """Which collectors run (all by default)."""

    cpu: bool = True
    memory: bool = True
    disk: bool = True
    filesystem: bool = True
    network: bool = True
    pressure: bool = True
    sensors: bool = True
    gpu: bool = True


class NodeSettings(AgentSettings):
    """The node agent's section (``agent``)."""

    listen: str = Field(DEFAULT_LISTEN, description="host:port where /metrics is served")
    collectors: NodeCollectorSwitches = Field(
        default_factory=NodeCollectorSwitches, description="collector name to true or false"
    )
    proc_root: Path = Field(Path("/proc"), description="where procfs is mounted")
    sys_root: Path = Field(Path("/sys"), description="where sysfs is mounted")
    mount_timeout_s: float = Field(
        1.0, gt=0, description="seconds each filesystem may take to answer statvfs"
    )
    cpu_frequency: bool = Field(True, description="report per-CPU frequency where cpufreq exists")
    disk_skip_devices: str = Field(
        DEFAULT_DISK_SKIP, description="regular expression of block devices to skip"
    )
    disk_include_partitions: bool = Field(False, description="report partitions too")
    network_skip_interfaces: str = Field(
        DEFAULT_INTERFACE_SKIP, description="regular expression of interfaces to skip"
    )
    filesystem_ignored_types: str = Field(
        DEFAULT_IGNORED_FS_TYPES, description="regular expression of filesystem types to skip"
    )
    filesystem_ignored_mountpoints: str = Field(
        DEFAULT_IGNORED_MOUNTPOINTS, description="regular expression of mount points to skip"
    )

    @field_validator(
        "disk_skip_devices",
        "network_skip_interfaces",
        "filesystem_ignored_types",
        "filesystem_ignored_mountpoints",
    )
    @classmethod
    def _check_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a valid regular expression: {err}") from err
        return value
