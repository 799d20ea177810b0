"""The node agent: host telemetry served on /metrics and pushed as OTLP through Kafka.

Collectors (each switchable under ``agent.collectors``): cpu, memory, disk, filesystem (with a
timeout per mount), network, pressure (PSI), sensors (hwmon, RAPL, power supplies), gpu (NVML,
with ECC), and the hardware-failure ones: edac (memory errors), mce (machine checks),
block_errors (disk I/O errors), smart (smartctl) and filesystem_state (read-only, ext4 errors).
Every collector runs on its own thread under its own time budget::

    from agents.node import run
    run(Path("continuum.yaml"))      # blocks until SIGINT or SIGTERM
"""

from __future__ import annotations

import logging
from pathlib import Path

from agents._otel import run_until_signal
from agents.node._main import SECTION, build_agent, build_collectors
from agents.node._settings import NodeCollectorSwitches, NodeSettings

__all__ = [
    "SECTION",
    "NodeCollectorSwitches",
    "NodeSettings",
    "build_agent",
    "build_collectors",
    "run",
]

_log = logging.getLogger(__name__)


def run(config_file: Path | None) -> None:
    """Run the node agent until SIGINT or SIGTERM, then flush (or spool) and return.

    Args:
        config_file: continuum.yaml, or None for defaults and environment only.

    Raises:
        ConfigError: a setting is invalid; the message names the key and the fix.
        OSError: the listen address is taken.
    """
    agent = build_agent(config_file)
    run_until_signal(agent)
