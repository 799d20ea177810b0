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

import json
import os
import re
import socket
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import yaml
from msgspec import Meta, Struct, field

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

_S = TypeVar("_S", bound=Struct)


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the dotted key and the fix."""


class Secret:
    """A credential that never shows in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The credential itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def state_dir() -> Path:
    """The local state directory, ``$XDG_STATE_HOME/continuum`` (docs/architecture.md)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "continuum"


def parse_listen(listen: str) -> tuple[str, int]:
    """Split a ``host:port`` listen address (``[::1]:9464`` for IPv6).

    Raises:
        ValueError: not ``host:port`` with a port in 0..65535.
    """
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"expected host:port, got {listen!r}")
    return host.strip("[]"), int(port_text)


def check_listen(key: str, listen: str) -> None:
    """Raise a ``ValueError`` naming ``key`` when ``listen`` is not ``host:port``.

    For ``__post_init__`` checks: :func:`load_section` reads the leading ``key:`` as the key.
    """
    try:
        parse_listen(listen)
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None


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
        int, Meta(ge=100, description="milliseconds per broker request")
    ] = 5000

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (connection and security only)."""
        options: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap_servers.split(",") if s],
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
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


# Keys whose string values are credentials (``sasl_password``, ``token``, ``secret``).
_SECRET_KEY = re.compile(r"(^|_)(password|secret|token)$")


def _holds_secret(node: object) -> bool:
    """Tell whether a YAML document holds a non-empty password, secret or token anywhere."""
    if isinstance(node, dict):
        return any(
            (
                isinstance(k, str)
                and _SECRET_KEY.search(k) is not None
                and isinstance(v, str)
                and v != ""
            )
            or _holds_secret(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return any(_holds_secret(item) for item in node)
    return False


def _refuse_readable_secrets(path: Path, loaded: object) -> None:
    # A credential in a file others can read is a leak waiting to happen: refuse, say the fix.
    if path.stat().st_mode & 0o077 and _holds_secret(loaded):
        raise ConfigError(
            f"config file {path} holds secrets (passwords or tokens) and others can read it: "
            f"run `chmod 600 {path}`"
        )


def _read_section(config_file: Path | None, section: str) -> dict[str, Any]:
    if config_file is None:
        return {}
    try:
        loaded = yaml.safe_load(config_file.read_text())
    except OSError as err:
        raise ConfigError(f"config file {config_file}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {config_file} is not valid YAML: {err}") from err
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {config_file} must hold a mapping of sections")
    _refuse_readable_secrets(config_file, loaded)
    data = loaded.get(section) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{section}: must be a mapping of keys, got {type(data).__name__}")
    return data


def _environment(section: str) -> dict[str, Any]:
    """``CONTINUUM_<SECTION>__A__B=v`` as ``{"a": {"b": "v"}}`` (names case-insensitive).

    A value that reads as a JSON object or list (``CONTINUUM_IDENTITY__LABELS='{"rack": "r1"}'``)
    is decoded, so mappings and lists can come from the environment too.
    """
    prefix = f"CONTINUUM_{section.upper()}__"
    found: dict[str, Any] = {}
    for name, raw in os.environ.items():
        if not name.upper().startswith(prefix) or len(name) == len(prefix):
            continue
        value: Any = raw
        if raw.lstrip()[:1] in ("{", "["):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        *parents, leaf = name[len(prefix) :].lower().split("__")
        node = found
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return found


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _decode_extra(kind: type, value: Any) -> Any:
    # The types msgspec does not know natively, built from their YAML or environment strings.
    if isinstance(value, kind):
        return value
    if isinstance(value, str) and kind is Path:
        return Path(value)
    if isinstance(value, str) and kind is Secret:
        return Secret(value)
    raise NotImplementedError


def _field_type(model: Any, name: str) -> Any:
    """The annotation of field ``name`` of struct ``model`` (None if there is none)."""
    if not (isinstance(model, type) and issubclass(model, Struct)):
        return None
    for info in msgspec.structs.fields(model):
        if info.name == name:
            return info.type
    return None


def _unwrap(annotation: Any) -> tuple[Any, str]:
    """The bare type under ``Annotated`` and its description ("" if none)."""
    if typing.get_origin(annotation) is Annotated:
        bare, *metadata = typing.get_args(annotation)
        for meta in metadata:
            if isinstance(meta, Meta) and meta.description:
                return bare, meta.description
        return bare, ""
    return annotation, ""


def _struct_inside(annotation: Any) -> Any:
    """The struct a field holds directly, in a list, or as an optional (else the type as is)."""
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, Struct):
            return arg
    return annotation


_LOCATED = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*): (?P<message>.+)$", re.DOTALL)


def _explain(model: type[Struct], section: str, error: msgspec.ValidationError) -> str:
    """``section.dotted.key: what is wrong (what the key is)`` from a msgspec error."""
    located = _LOCATED.match(str(error))
    message = located["message"] if located else str(error)
    path = located["path"] if located and located["path"] else ""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p]
    named = _NAMED.match(message)
    if named:  # a __post_init__ check names its key first
        parts.append(named["key"])
        message = named["message"]
    description = ""
    current: Any = model
    for part in parts:
        if part.isdigit():
            continue
        current, description = _unwrap(_field_type(current, part))
        current = _struct_inside(current)
    hint = f" ({description})" if description else ""
    return f"{'.'.join([section, *parts])}: {message}{hint}"


def validate_section(model: type[_S], section: str, data: dict[str, Any]) -> _S:
    """Check ``data`` (one section, as read from YAML) against ``model``.

    Raises:
        ConfigError: a value is invalid; the message names the dotted key.
    """
    try:
        return msgspec.convert(data, type=model, strict=False, dec_hook=_decode_extra)
    except msgspec.ValidationError as err:
        raise ConfigError(_explain(model, section, err)) from None


def load_section(model: type[_S], section: str, config_file: Path | None) -> _S:
    """Load one section of continuum.yaml with environment overrides.

    Args:
        model: the settings struct (one of this module's, or an agent's subclass).
        section: the YAML section and environment prefix (``agent`` reads
            ``CONTINUUM_AGENT__*``).
        config_file: the YAML file, or None for defaults and environment only.

    Returns:
        The validated settings.

    Raises:
        ConfigError: the file is unreadable or a value is invalid; the message names the key.
    """
    data = _merge(_read_section(config_file, section), _environment(section))
    return validate_section(model, section, data)
