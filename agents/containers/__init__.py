"""The container agent: per-container and per-pod telemetry from cgroups v1 and v2.

It walks the cgroup hierarchies each interval, recognises docker, containerd, CRI-O and podman
groups (systemd and cgroupfs drivers) and Kubernetes pods by QoS class, reads their CPU,
memory, pressure, block IO, network and pids counters, and delivers them like every agent:
``/metrics`` for pull and OTLP to Kafka (with the spool) for push::

    from agents.containers import run
    run(Path("continuum.yaml"))        # blocks until SIGINT or SIGTERM

or, as a library on any tree (a fixture, a ``/host`` mount)::

    collector = ContainerScanner(detect_layout(Path("/sys/fs/cgroup")), Path("/proc"))
    for sample in collector.collect():
        print(sample.attributes["container.id"], sample.stats.memory_usage_bytes)

Errors: :class:`agents._otel.ConfigError` (a ``ValueError``) for bad settings at start; a
running agent counts and logs unreadable groups once and keeps going.
"""

from __future__ import annotations

from pathlib import Path

from agents._otel import IdentitySettings, KafkaSettings, load_section, run_until_signal
from agents.containers._collector import ContainerSample, ContainerScanner
from agents.containers._instruments import INSTRUMENTS, PROMETHEUS_KEYS, ContainersCollector
from agents.containers._layout import CgroupLayout, detect_layout
from agents.containers._main import ContainersAgent
from agents.containers._metadata import MetadataResolver, MetadataSources
from agents.containers._settings import ContainersSettings
from agents.containers._stats import ContainerStats, InterfaceStats

__all__ = [
    "INSTRUMENTS",
    "PROMETHEUS_KEYS",
    "CgroupLayout",
    "ContainerSample",
    "ContainerScanner",
    "ContainerStats",
    "ContainersAgent",
    "ContainersCollector",
    "ContainersSettings",
    "InterfaceStats",
    "MetadataResolver",
    "MetadataSources",
    "detect_layout",
    "run",
]


def run(config_file: Path | None) -> None:
    """Run the container agent until SIGINT or SIGTERM (section ``containers``).

    Args:
        config_file: continuum.yaml, or ``None`` for defaults and ``CONTINUUM_*`` variables.

    Raises:
        ConfigError: a setting is invalid (the message names the key).
    """
    identity = load_section(IdentitySettings, "identity", config_file)
    kafka = load_section(KafkaSettings, "kafka", config_file)
    settings = load_section(ContainersSettings, "containers", config_file)
    run_until_signal(ContainersAgent(settings, identity=identity, kafka=kafka))
