"""Assemble the node agent from its settings: the enabled collectors and the resource.

::

    agent = build_agent(Path("continuum.yaml"))
    agent.run_cycle()
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents._otel import (
    Agent,
    Collector,
    IdentitySettings,
    KafkaSettings,
    ProducerLike,
    build_resource,
    load_section,
)
from agents.node._blockerr import BlockErrorsCollector
from agents.node._cpu import CpuCollector, cpu_model
from agents.node._datapath import DataPathCollector
from agents.node._disk import DiskCollector
from agents.node._edac import EdacCollector
from agents.node._filesystem import FilesystemCollector, StatVfs
from agents.node._fsstate import FilesystemStateCollector
from agents.node._gpu import GpuCollector
from agents.node._mce import MceCollector
from agents.node._memory import MemoryCollector
from agents.node._network import NetworkCollector
from agents.node._pressure import PressureCollector
from agents.node._sensors import SensorsCollector
from agents.node._settings import NodeSettings
from agents.node._smart import SmartCollector, SmartRun, run_smartctl

__all__ = ["SECTION", "build_agent", "build_collectors"]

#: The section of continuum.yaml the node agent reads (docs/architecture.md).
SECTION = "agent"


def build_collectors(
    settings: NodeSettings,
    *,
    statvfs: StatVfs | None = None,
    nvml: Any = None,
    smartctl: SmartRun | None = None,
) -> list[Collector]:
    """The collectors the settings switch on, reading from their configured roots.

    Args:
        settings: the ``agent`` section.
        statvfs: the filesystem collector's statvfs (default ``os.statvfs``).
        nvml: the NVML module (default ``pynvml``).
        smartctl: how the SMART collector runs smartctl (default from PATH).
    """
    on = settings.collectors
    proc, sys = settings.proc_root, settings.sys_root
    collectors: list[Collector] = []
    if on.cpu:
        collectors.append(CpuCollector(proc, sys, frequency=settings.cpu_frequency))
    if on.memory:
        collectors.append(MemoryCollector(proc))
    if on.disk:
        collectors.append(
            DiskCollector(
                proc,
                sys,
                skip_devices=settings.disk_skip_devices,
                include_partitions=settings.disk_include_partitions,
            )
        )
    if on.filesystem:
        collectors.append(
            FilesystemCollector(
                proc,
                mount_timeout_s=settings.mount_timeout_s,
                ignored_fs_types=settings.filesystem_ignored_types,
                ignored_mountpoints=settings.filesystem_ignored_mountpoints,
                statvfs=statvfs or os.statvfs,
            )
        )
    if on.data_path:
        collectors.append(DataPathCollector(settings.data_path, statvfs=statvfs or os.statvfs))
    if on.network:
        collectors.append(NetworkCollector(proc, skip_interfaces=settings.network_skip_interfaces))
    if on.pressure:
        collectors.append(PressureCollector(proc))
    if on.sensors:
        collectors.append(SensorsCollector(sys))
    # Switched off, it still reports continuum.node.gpus 0: rankings filter on that fact.
    collectors.append(GpuCollector(nvml, enabled=on.gpu))
    collectors.extend(_hardware_collectors(settings, smartctl or run_smartctl))
    return collectors


def _hardware_collectors(settings: NodeSettings, smartctl: SmartRun) -> list[Collector]:
    on = settings.collectors
    proc, sys = settings.proc_root, settings.sys_root
    collectors: list[Collector] = []
    if on.edac:
        collectors.append(EdacCollector(sys))
    if on.mce:
        collectors.append(MceCollector(proc))
    if on.block_errors:
        collectors.append(BlockErrorsCollector(sys, skip_devices=settings.disk_skip_devices))
    if on.filesystem_state:
        collectors.append(
            FilesystemStateCollector(
                proc,
                sys,
                ignored_fs_types=settings.filesystem_ignored_types,
                ignored_mountpoints=settings.filesystem_ignored_mountpoints,
            )
        )
    # Switched off, it still says so: "disabled" differs from "no disk answered".
    collectors.append(
        SmartCollector(
            smartctl,
            interval_s=settings.smart_interval_s,
            timeout_s=settings.smart_timeout_s,
            enabled=on.smart,
        )
    )
    return collectors


def build_agent(
    config_file: Path | None,
    *,
    producer_factory: Callable[[], ProducerLike] | None = None,
) -> Agent:
    """Build the node agent from continuum.yaml and the environment.

    Args:
        config_file: continuum.yaml, or None for defaults and environment only.
        producer_factory: Kafka producer factory (tests inject fakes).

    Raises:
        ConfigError: a setting is invalid; the message names the key.
    """
    identity = load_section(IdentitySettings, "identity", config_file)
    kafka = load_section(KafkaSettings, "kafka", config_file)
    settings = load_section(NodeSettings, SECTION, config_file)
    resource = build_resource(identity, cpu_model=cpu_model(settings.proc_root))
    return Agent(
        "node",
        build_collectors(settings),
        identity=identity,
        kafka=kafka,
        settings=settings,
        resource=resource,
        timeouts_s=None,
        producer_factory=producer_factory,
    )
