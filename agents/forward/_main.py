"""``agents.forward.run``: the forwarder daemon wired through the shared agent plumbing."""

from __future__ import annotations

import logging
import re
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from agents._otel import (
    Agent,
    ConfigError,
    IdentitySettings,
    KafkaSettings,
    default_producer_factory,
    load_section,
    run_until_signal,
    state_dir,
)
from agents.forward._forwarder import ForwardCollector, Forwarder
from agents.forward._scrape import Scraper
from agents.forward._sender import RecordQueue, RecordSender, bootstrap_reachable
from agents.forward._settings import ForwardSettings

__all__ = ["build_forwarder", "run", "with_target_spool"]

_log = logging.getLogger(__name__)


def _check_target(target_url: str) -> None:
    parts = urlsplit(target_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--target: expected an http(s):// URL of a metrics endpoint, got {target_url!r}"
        )


def build_forwarder(
    target_url: str,
    *,
    identity: IdentitySettings,
    kafka: KafkaSettings,
    settings: ForwardSettings,
) -> Forwarder:
    """Assemble the scraper, queue, sender and forwarder for one target.

    The records' spool is the ``records`` folder of the forwarder's spool folder
    (:func:`with_target_spool`), beside its self-telemetry's.

    Raises:
        ConfigError: the target is not an http(s) URL.
    """
    _check_target(target_url)
    settings = with_target_spool(settings, target_url)
    scraper = Scraper(
        target_url,
        timeout_s=settings.scrape_timeout_s,
        max_bytes=settings.max_scrape_bytes,
        verify=not settings.tls_insecure_skip_verify,
    )
    queue = RecordQueue(
        settings.spool_path("forward") / "records",
        max_memory_records=settings.queue_max_records,
        max_spool_bytes=settings.spool_max_bytes,
    )
    sender = RecordSender(
        queue,
        topic=kafka.topic,
        producer_factory=default_producer_factory(kafka, settings.max_message_bytes),
        max_age_s=settings.max_record_age_s,
        flush_timeout_s=kafka.producer_timeout_ms / 1000 * 2,
        reachable=partial(bootstrap_reachable, kafka.client_options()["bootstrap_servers"]),
    )
    return Forwarder(
        scraper,
        queue,
        sender,
        identity=identity,
        interval_s=settings.interval_s,
        max_message_bytes=settings.max_message_bytes,
    )


def with_target_spool(settings: ForwardSettings, target_url: str) -> ForwardSettings:
    """Default the spool to ``<state>/spool/forward-<host_port>`` of the target.

    Several forwarders may run on one node (one per exporter); their self-telemetry spools must
    not share a folder. An explicit ``forward.spool_dir`` is kept.
    """
    if settings.spool_dir is not None:
        return settings
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(target_url).netloc) or "target"
    return msgspec.structs.replace(settings, spool_dir=state_dir() / "spool" / f"forward-{slug}")


def run(config_file: Path | None, target_url: str) -> None:
    """Forward ``target_url``'s exposition to Kafka until SIGINT or SIGTERM.

    Reads sections ``identity``, ``kafka`` and ``forward``; serves its own telemetry on
    ``forward.listen``.

    Raises:
        ConfigError: a setting or the target URL is invalid (the message names the key).
    """
    identity = load_section(IdentitySettings, "identity", config_file)
    kafka = load_section(KafkaSettings, "kafka", config_file)
    settings = load_section(ForwardSettings, "forward", config_file)
    settings = with_target_spool(settings, target_url)
    forwarder = build_forwarder(target_url, identity=identity, kafka=kafka, settings=settings)
    agent = Agent(
        "forward",
        [ForwardCollector(forwarder)],
        identity=identity,
        kafka=kafka,
        settings=settings,
    )
    forwarder.start()
    _log.info(
        "forwarding %s to Kafka topic %s every %g s", target_url, kafka.topic, settings.interval_s
    )
    try:
        run_until_signal(agent)
    finally:
        forwarder.stop()
