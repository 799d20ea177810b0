"""The container agent: the shared agent wiring around the container collector::

agent = ContainersAgent(settings, identity=identity, kafka=kafka)
run_until_signal(agent)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agents._otel import Agent, IdentitySettings, KafkaSettings, ProducerLike
from agents.containers._collector import ContainerScanner
from agents.containers._instruments import ContainersCollector
from agents.containers._layout import detect_layout
from agents.containers._metadata import MetadataResolver
from agents.containers._settings import ContainersSettings

__all__ = ["ContainersAgent"]

_log = logging.getLogger(__name__)


class ContainersAgent(Agent):
    """Collects every container's counters each interval; serves and pushes them.

    Args:
        settings: the ``containers`` section.
        identity: the ``identity`` section.
        kafka: the ``kafka`` section.
        producer_factory: creates Kafka producers (tests inject fakes).
    """

    def __init__(
        self,
        settings: ContainersSettings,
        *,
        identity: IdentitySettings,
        kafka: KafkaSettings,
        producer_factory: Callable[[], ProducerLike] | None = None,
    ) -> None:
        layout = detect_layout(settings.cgroup_root)
        self._kubelet = settings.kubelet()
        if layout.empty:
            _log.warning(
                "no cgroup hierarchy under %s (containers.cgroup_root); reporting no containers",
                settings.cgroup_root,
            )
        self.containers = ContainerScanner(
            layout,
            settings.proc_root,
            MetadataResolver(settings.metadata_sources()),
            frozenset(settings.network_exclude),
            settings.max_depth,
            self._kubelet,
        )
        super().__init__(
            "containers",
            [ContainersCollector(self.containers)],
            identity=identity,
            kafka=kafka,
            settings=settings,
            producer_factory=producer_factory,
        )

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Shut the agent down (idempotent) and close the kubelet client."""
        super().shutdown(timeout_s)
        if self._kubelet is not None:
            self._kubelet.close()
