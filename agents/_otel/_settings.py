"""Settings shared by every agent: identity, Kafka, and the common keys of an agent section.

Each model reads one section of ``continuum.yaml``; every key can be overridden by an environment
variable ``CONTINUUM_<SECTION>__<KEY>`` (nested keys joined by ``__``)::

    identity = load_section(IdentitySettings, "identity", Path("continuum.yaml"))
    agent = load_section(AgentSettings, "agent", None)   # defaults and environment only

A bad value raises :class:`ConfigError` naming the dotted key and what is expected, for example
``agent.interval_s: Input should be greater than or equal to 1 (seconds between collections)``.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_SPOOL_MAX_BYTES",
    "AgentSettings",
    "ConfigError",
    "IdentitySettings",
    "KafkaSettings",
    "load_section",
    "parse_listen",
    "state_dir",
]

DEFAULT_INTERVAL_S = 10.0
DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_QUEUE_MAX_MESSAGES = 64
DEFAULT_COLLECTOR_TIMEOUT_S = 5.0
#: Kafka's default ``message.max.bytes`` is 1 MB; stay below it with room for headers.
MAX_MESSAGE_BYTES = 1_000_000
DEFAULT_MESSAGE_BYTES = 900_000

_S = TypeVar("_S", bound="_SectionSettings")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the dotted key and the fix."""


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


class _SectionSettings(BaseSettings):
    """A section of continuum.yaml; environment variables beat the file."""

    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's section arrives as init keywords; the environment overrides it.
        return (env_settings, init_settings)


class IdentitySettings(_SectionSettings):
    """Who this node is (section ``identity``, DESIGN.md §3.1)."""

    node_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        description="stable node id; defaults to the host name",
    )
    tier: Literal["edge", "cloud", "hpc"] = Field("cloud", description="one of edge, cloud, hpc")
    site: str = Field("local", min_length=1, description="the site this node belongs to")
    labels: dict[str, str] = Field(
        default_factory=dict, description="operator labels, a mapping of names to strings"
    )


class KafkaSettings(_SectionSettings):
    """Where and how agents produce (section ``kafka``); TLS and SASL go to the client as is."""

    bootstrap_servers: str = Field("127.0.0.1:9092", description="comma-separated host:port list")
    topic: str = Field("otlp_metrics", min_length=1, description="topic agents produce to")
    dlq_topic: str = Field("otlp_metrics.dlq", min_length=1, description="dead-letter topic")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    ssl_cafile: Path | None = Field(None, description="CA bundle that signs the brokers")
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM)")
    ssl_keyfile: Path | None = Field(None, description="client key (PEM)")
    ssl_check_hostname: bool = Field(True, description="verify broker host names")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    sasl_username: str | None = Field(None, description="SASL user")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    compression_type: Literal["gzip"] | None = Field(
        "gzip", description="gzip or null (other codecs need extra libraries)"
    )
    request_timeout_ms: int = Field(5000, ge=100, description="milliseconds per broker request")

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


class AgentSettings(_SectionSettings):
    """Keys every agent section shares (``agent``, ``containers``, ``probes``, ``forward``).

    Subclass it to add an agent's own keys; load it with :func:`load_section`.
    """

    listen: str = Field("127.0.0.1:9464", description="host:port where /metrics is served")
    interval_s: float = Field(DEFAULT_INTERVAL_S, ge=1.0, description="seconds between collections")
    collector_timeout_s: float = Field(
        DEFAULT_COLLECTOR_TIMEOUT_S, gt=0, description="seconds each collector may take per cycle"
    )
    spool_dir: Path | None = Field(
        None, description="directory of the export spool; default <state dir>/spool/<section>"
    )
    spool_max_bytes: int = Field(
        DEFAULT_SPOOL_MAX_BYTES, ge=0, description="bytes the spool may hold before dropping oldest"
    )
    queue_max_messages: int = Field(
        DEFAULT_QUEUE_MAX_MESSAGES, ge=1, description="messages held in memory before spilling"
    )
    max_message_bytes: int = Field(
        DEFAULT_MESSAGE_BYTES,
        ge=10_000,
        le=MAX_MESSAGE_BYTES,
        description="largest Kafka message; larger exports are split (at most 1000000)",
    )
    push: bool = Field(True, description="export OTLP to Kafka (false: pull mode only)")
    tls_certfile: Path | None = Field(None, description="certificate to serve /metrics over TLS")
    tls_keyfile: Path | None = Field(None, description="key of tls_certfile")
    basic_auth_username: str | None = Field(None, description="user required on /metrics")
    basic_auth_password: SecretStr | None = Field(None, description="password of that user")

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

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


def _describe(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The description of the field at ``loc``, walking nested models."""
    current: Any = model
    description = ""
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            break
        info = fields[part]
        description = info.description or ""
        current = info.annotation
    return description


def load_section(model: type[_S], section: str, config_file: Path | None) -> _S:
    """Load one section of continuum.yaml with environment overrides.

    Args:
        model: the settings class (a subclass of one of this module's models).
        section: the YAML section and environment prefix (``agent`` reads
            ``CONTINUUM_AGENT__*``).
        config_file: the YAML file, or None for defaults and environment only.

    Returns:
        The validated settings.

    Raises:
        ConfigError: the file is unreadable or a value is invalid; the message names the key.
    """
    data = _read_section(config_file, section)
    try:
        return model(
            _env_prefix=f"CONTINUUM_{section.upper()}__",
            **data,
        )
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join([section, *(str(p) for p in first["loc"])])
        hint = _describe(model, first["loc"])
        suffix = f" ({hint})" if hint else ""
        raise ConfigError(f"{key}: {first['msg']}{suffix}") from err
