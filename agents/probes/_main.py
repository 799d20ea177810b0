"""``agents.probes.run``: the probe agent wired through the shared agent plumbing."""

from __future__ import annotations

import logging
from pathlib import Path

from agents._otel import Agent, IdentitySettings, KafkaSettings, load_section, run_until_signal
from agents.probes._engine import ProbeRunner
from agents.probes._instruments import ProbeCollector
from agents.probes._results import ResultStore
from agents.probes._settings import ProbesSettings

__all__ = ["run"]

_log = logging.getLogger(__name__)


def run(config_file: Path | None) -> None:
    """Probe the configured targets until SIGINT or SIGTERM.

    Reads sections ``identity``, ``kafka`` and ``probes``; serves ``/metrics`` on
    ``probes.listen``, pushes OTLP to Kafka like every agent, and answers peers' throughput
    tests on ``probes.throughput.listen``.

    Raises:
        ConfigError: a setting is invalid (the message names the key).
    """
    identity = load_section(IdentitySettings, "identity", config_file)
    kafka = load_section(KafkaSettings, "kafka", config_file)
    settings = load_section(ProbesSettings, "probes", config_file)
    store = ResultStore()
    runner = ProbeRunner(settings, store, self_node=identity.node_id)
    agent = Agent(
        "probes",
        [ProbeCollector(store, runner)],
        identity=identity,
        kafka=kafka,
        settings=settings,
    )
    runner.start()
    _log.info("probing %d targets every %g s", len(settings.targets), settings.interval_s)
    try:
        run_until_signal(agent)
    finally:
        runner.stop()
