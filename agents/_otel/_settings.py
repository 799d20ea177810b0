"""Settings shared by every agent: identity, Kafka, and the common keys of an agent section.

Each model reads one section of ``continuum.yaml``; every key can be overridden by an environment
variable ``CONTINUUM_<SECTION>__<KEY>`` (nested keys joined by ``__``)::

    identity = load_section(IdentitySettings, "identity", Path("continuum.yaml"))
    agent = load_section(AgentSettings, "agent", None)   # defaults and environment only

A bad value raises :class:`ConfigError` naming the dotted key and what is expected, for example
``agent.interval_s: Expected `float` >= 1.0 (seconds between collections)``.

The models are msgspec structs rather than pydantic models: agents run on every node for months,
and pydantic with pydantic-settings costs a daemon about 20 MB of resident memory at import,
msgspec under 2 MB (docs/benchmarks.md, node agent). Constructing a struct directly (tests,
benchmarks) takes the values as given; :func:`load_section` and :func:`validate_section` check
types, bounds and the cross-field rules in each struct's ``__post_init__``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from continuum.config import (
    ConfigError,
    KafkaSettings,
    Secret,
    TopicSettings,
    check_listen,
    load_section,
    parse_listen,
    state_dir,
    validate_section,
)

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_SPOOL_MAX_BYTES",
    "AgentSettings",
    "ConfigError",
    "IdentitySettings",
    "KafkaSettings",
    "Secret",
    "TopicSettings",
    "check_listen",
    "load_section",
    "parse_listen",
    "state_dir",
    "validate_section",
]

DEFAULT_INTERVAL_S = 10.0
DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_QUEUE_MAX_MESSAGES = 64
DEFAULT_COLLECTOR_TIMEOUT_S = 5.0
#: Kafka's default ``message.max.bytes`` is 1 MB; stay below it with room for headers.
MAX_MESSAGE_BYTES = 1_000_000
DEFAULT_MESSAGE_BYTES = 900_000


class IdentitySettings(Struct, kw_only=True):
    """Who this node is (section ``identity``, docs/contracts.md §3.1)."""

    node_id: Annotated[
        str, Meta(min_length=1, description="stable node id; defaults to the host name")
    ] = field(default_factory=socket.gethostname)
    tier: Annotated[
        Literal["edge", "cloud", "hpc"], Meta(description="one of edge, cloud, hpc")
    ] = "cloud"
    site: Annotated[str, Meta(min_length=1, description="the site this node belongs to")] = "local"
    labels: Annotated[
        dict[str, str], Meta(description="operator labels, a mapping of names to strings")
    ] = field(default_factory=dict)


class AgentSettings(Struct, kw_only=True):
    """Keys every agent section shares (``agent``, ``containers``, ``probes``, ``forward``).

    Subclass it to add an agent's own keys (and call ``super().__post_init__()`` from a
    subclass's own checks); load it with :func:`load_section`.
    """

    listen: Annotated[str, Meta(description="host:port where /metrics is served")] = (
        "127.0.0.1:9464"
    )
    interval_s: Annotated[float, Meta(ge=1.0, description="seconds between collections")] = (
        DEFAULT_INTERVAL_S
    )
    collector_timeout_s: Annotated[
        float, Meta(gt=0, description="seconds each collector may take per cycle")
    ] = DEFAULT_COLLECTOR_TIMEOUT_S
    spool_dir: Annotated[
        Path | None,
        Meta(description="directory of the export spool; default <state dir>/spool/<section>"),
    ] = None
    spool_max_bytes: Annotated[
        int, Meta(ge=0, description="bytes the spool may hold before dropping oldest")
    ] = DEFAULT_SPOOL_MAX_BYTES
    queue_max_messages: Annotated[
        int, Meta(ge=1, description="messages held in memory before spilling")
    ] = DEFAULT_QUEUE_MAX_MESSAGES
    max_message_bytes: Annotated[
        int,
        Meta(
            ge=10_000,
            le=MAX_MESSAGE_BYTES,
            description="largest Kafka message; larger exports are split (at most 1000000)",
        ),
    ] = DEFAULT_MESSAGE_BYTES
    push: Annotated[bool, Meta(description="export OTLP to Kafka (false: pull mode only)")] = True
    tls_certfile: Annotated[
        Path | None, Meta(description="certificate to serve /metrics over TLS")
    ] = None
    tls_keyfile: Annotated[Path | None, Meta(description="key of tls_certfile")] = None
    basic_auth_username: Annotated[str | None, Meta(description="user required on /metrics")] = None
    basic_auth_password: Annotated[Secret | None, Meta(description="password of that user")] = None

    def __post_init__(self) -> None:
        check_listen("listen", self.listen)

    def spool_path(self, section: str) -> Path:
        """The spool directory, defaulting to ``<state dir>/spool/<section>``."""
        return self.spool_dir if self.spool_dir is not None else state_dir() / "spool" / section
