"""The ``kafka`` section, one type for every component that talks to the brokers.

The agents produce with it, the pipeline consumes and dead-letters with it, and the
production-profile check (:mod:`continuum._durability`) reads its ``topics``; so one file's
``kafka`` section means the same to all of them, and a key that none of them knows is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

from continuum.config._secret import Secret

__all__ = ["DEFAULT_PRODUCER_TIMEOUT_MS", "KafkaSettings", "TopicSettings"]

#: The agents' request timeout: a producer must not block a collection cycle for long.
DEFAULT_PRODUCER_TIMEOUT_MS = 5000


class TopicSettings(Struct, kw_only=True):
    """How the project's topics are set on the brokers (``kafka.topics``, Kafka's names in
    brackets). The brokers hold these; a ``production`` profile declares them here so that
    ``continuum`` can refuse settings that would lose acknowledged data (docs/reliability.md).
    """

    replication_factor: Annotated[
        int, Meta(ge=1, description="copies of each partition (replication factor)")
    ] = 1
    min_insync_replicas: Annotated[
        int,
        Meta(
            ge=1,
            description="copies that hold a record before acks=all answers (min.insync.replicas)",
        ),
    ] = 1
    retention_hours: Annotated[
        float, Meta(gt=0, description="hours an unread record is kept (retention.ms)")
    ] = 24.0
    unclean_leader_election: Annotated[
        bool,
        Meta(description="let an out-of-sync replica lead (unclean.leader.election.enable)"),
    ] = False


class KafkaSettings(Struct, kw_only=True):
    """Where and how agents produce (section ``kafka``); TLS and SASL go to the client as is.

    ``profile: production`` (Apache Kafka) turns on the durability rules of
    :mod:`continuum._durability`; ``local`` is the in-memory Tansu broker of `continuum up`.
    """

    profile: Annotated[
        Literal["local", "production"],
        Meta(description="local (in-memory Tansu) or production (Apache Kafka, checked)"),
    ] = "local"
    acks: Annotated[
        Literal["all", 1, 0],
        Meta(description="all, 1 or 0: replicas that hold a record before the broker answers"),
    ] = 1
    enable_idempotence: Annotated[
        bool,
        Meta(description="idempotent producers (Apache Kafka; Tansu breaks them on restart)"),
    ] = False
    topics: Annotated[
        TopicSettings, Meta(description="the topics' durability settings on the brokers")
    ] = field(default_factory=TopicSettings)

    bootstrap_servers: Annotated[str, Meta(description="comma-separated host:port list")] = (
        "127.0.0.1:9092"
    )
    topic: Annotated[str, Meta(min_length=1, description="topic agents produce to")] = (
        "otlp_metrics"
    )
    dlq_topic: Annotated[str, Meta(min_length=1, description="dead-letter topic")] = (
        "otlp_metrics.dlq"
    )
    security_protocol: Annotated[
        Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
        Meta(description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
    ] = "PLAINTEXT"
    ssl_cafile: Annotated[Path | None, Meta(description="CA bundle that signs the brokers")] = None
    ssl_certfile: Annotated[Path | None, Meta(description="client certificate (PEM)")] = None
    ssl_keyfile: Annotated[Path | None, Meta(description="client key (PEM)")] = None
    ssl_check_hostname: Annotated[bool, Meta(description="verify broker host names")] = True
    sasl_mechanism: Annotated[
        Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None,
        Meta(description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    ] = None
    sasl_username: Annotated[str | None, Meta(description="SASL user")] = None
    sasl_password: Annotated[Secret | None, Meta(description="SASL password")] = None
    compression_type: Annotated[
        Literal["gzip"] | None, Meta(description="gzip or null (other codecs need extra libraries)")
    ] = "gzip"
    request_timeout_ms: Annotated[
        Annotated[int, Meta(ge=100)] | None,
        Meta(
            description="milliseconds per broker request (default: 5000 for the agents' "
            "producers, kafka-python's 30000 for the pipeline's consumer)",
        ),
    ] = None

    @property
    def producer_timeout_ms(self) -> int:
        """The agents' request timeout: ``request_timeout_ms``, else 5000."""
        return self.request_timeout_ms or DEFAULT_PRODUCER_TIMEOUT_MS

    def client_options(
        self, default_request_timeout_ms: int | None = DEFAULT_PRODUCER_TIMEOUT_MS
    ) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (connection and security only).

        Args:
            default_request_timeout_ms: the request timeout when ``request_timeout_ms`` is not
                set; None leaves kafka-python's own.
        """
        options: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap_servers.split(",") if s],
            "security_protocol": self.security_protocol,
        }
        timeout_ms = self.request_timeout_ms or default_request_timeout_ms
        if timeout_ms is not None:
            options["request_timeout_ms"] = timeout_ms
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_check_hostname"] = self.ssl_check_hostname
            for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                value = getattr(self, key)
                if value is not None:
                    options[key] = str(value)
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism or "PLAIN"
            options["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options
