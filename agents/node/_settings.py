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
from typing import Annotated

from msgspec import Meta, Struct, field

from agents._otel import AgentSettings
from agents.node._disk import DEFAULT_DISK_SKIP
from agents.node._filesystem import DEFAULT_IGNORED_FS_TYPES, DEFAULT_IGNORED_MOUNTPOINTS
from agents.node._network import DEFAULT_INTERFACE_SKIP
from agents.node._smart import DEFAULT_SMART_INTERVAL_S, DEFAULT_SMART_TIMEOUT_S

__all__ = ["DEFAULT_LISTEN", "NodeCollectorSwitches", "NodeSettings"]

DEFAULT_LISTEN = "127.0.0.1:9464"
_PATTERN_KEYS = (
    "disk_skip_devices",
    "network_skip_interfaces",
    "filesystem_ignored_types",
    "filesystem_ignored_mountpoints",
)


class NodeCollectorSwitches(Struct, kw_only=True):
    """Which collectors run (all by default)."""

    cpu: bool = True
    memory: bool = True
    disk: bool = True
    filesystem: bool = True
    network: bool = True
    pressure: bool = True
    sensors: bool = True
    gpu: bool = True
    edac: bool = True
    mce: bool = True
    block_errors: bool = True
    smart: bool = True
    filesystem_state: bool = True
    data_path: bool = True


class NodeSettings(AgentSettings, kw_only=True):
    """The node agent's section (``agent``)."""

    listen: Annotated[str, Meta(description="host:port where /metrics is served")] = DEFAULT_LISTEN
    collectors: Annotated[
        NodeCollectorSwitches, Meta(description="collector name to true or false")
    ] = field(default_factory=NodeCollectorSwitches)
    proc_root: Annotated[Path, Meta(description="where procfs is mounted")] = Path("/proc")
    data_path: Annotated[
        Path, Meta(description="directory tasks keep their data in (its free space is reported)")
    ] = Path("/")
    sys_root: Annotated[Path, Meta(description="where sysfs is mounted")] = Path("/sys")
    mount_timeout_s: Annotated[
        float, Meta(gt=0, description="seconds each filesystem may take to answer statvfs")
    ] = 1.0
    cpu_frequency: Annotated[
        bool, Meta(description="report per-CPU frequency where cpufreq exists")
    ] = True
    disk_skip_devices: Annotated[
        str, Meta(description="regular expression of block devices to skip")
    ] = DEFAULT_DISK_SKIP
    disk_include_partitions: Annotated[bool, Meta(description="report partitions too")] = False
    network_skip_interfaces: Annotated[
        str, Meta(description="regular expression of interfaces to skip")
    ] = DEFAULT_INTERFACE_SKIP
    filesystem_ignored_types: Annotated[
        str, Meta(description="regular expression of filesystem types to skip")
    ] = DEFAULT_IGNORED_FS_TYPES
    filesystem_ignored_mountpoints: Annotated[
        str, Meta(description="regular expression of mount points to skip")
    ] = DEFAULT_IGNORED_MOUNTPOINTS

    smart_interval_s: Annotated[
        float, Meta(gt=0, description="seconds between SMART queries of the disks")
    ] = DEFAULT_SMART_INTERVAL_S
    smart_timeout_s: Annotated[
        float, Meta(gt=0, description="seconds each smartctl call may take")
    ] = DEFAULT_SMART_TIMEOUT_S

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in _PATTERN_KEYS:
            try:
                re.compile(getattr(self, key))
            except re.error as err:
                raise ValueError(f"{key}: not a valid regular expression: {err}") from None
