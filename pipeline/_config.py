"""Settings of the pipeline worker: sections ``kafka`` and ``pipeline`` of continuum.yaml.

Every key can be overridden from the environment, e.g. ``CONTINUUM_PIPELINE__GROUP_ID=g2`` or
``CONTINUUM_KAFKA__BOOTSTRAP_SERVERS=10.0.0.5:9092``::

    settings = load_settings(Path("continuum.yaml"))
    print(settings.pipeline.remote_write_url)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from continuum._http_auth import HttpAuth

__all__ = [
    "ConfigError",
    "KafkaSettings",
    "PipelineSettings",
    "WorkerSettings",
    "kafka_client_options",
    "load_settings",
]

DEFAULT_LISTEN = "127.0.0.1:9465"
DEFAULT_GROUP_ID = "continuum-pipeline"
DEFAULT_REMOTE_WRITE_URL = "http://127.0.0.1:9090/api/v1/write"
DEFAULT_TOPIC = "otlp_metrics"
DEFAULT_DLQ_TOPIC = "otlp_metrics.dlq"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the fix."""


class KafkaSettings(BaseModel):
    """Where the broker is and how to talk to it (shared with the agents)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = DEFAULT_TOPIC
    dlq_topic: str = DEFAULT_DLQ_TOPIC
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    #: The dead-letter producer's durability, as the agents' (a production profile sets acks
    #: all and idempotence; the local Tansu broker breaks idempotent producers on restart).
    acks: Literal["all", 1, 0] = 1
    enable_idempotence: bool = False


class PipelineSettings(BaseModel):
    """The worker's own knobs; defaults suit one worker next to a local Prometheus."""

    listen: str = DEFAULT_LISTEN
    group_id: str = DEFAULT_GROUP_ID
    remote_write_url: str = DEFAULT_REMOTE_WRITE_URL
    # Basic auth or a bearer token, and TLS, toward remote write; secrets from files.
    remote_write_auth: HttpAuth = HttpAuth()
    # Kafka group timing: a join takes about session_timeout_ms / 2 (docs/platform.md).
    session_timeout_ms: int = Field(6000, ge=1000)
    heartbeat_interval_ms: int = Field(1000, ge=100)
    # Also the group's rebalance timeout: a member that neither rejoins nor leaves cleanly holds
    # a rebalance this long, so keep it short (the loop polls at least every 100 ms).
    max_poll_interval_ms: int = Field(30_000, ge=2000)
    max_poll_records: int = Field(2000, ge=1)
    # Batching: a request goes out when it holds batch_max_samples or after batch_max_delay_s.
    batch_max_samples: int = Field(10_000, ge=1)
    batch_max_delay_s: float = Field(0.2, gt=0)
    # Requests in flight at once; series are sharded by node so each keeps its order.
    max_concurrent_requests: int = Field(4, ge=1, le=64)
    # Backpressure: consumption pauses while this many samples await acknowledgement.
    max_pending_samples: int = Field(400_000, ge=1)
    request_timeout_s: float = Field(10.0, gt=0)
    retry_initial_backoff_s: float = Field(0.1, gt=0)
    retry_max_backoff_s: float = Field(5.0, gt=0)
    shutdown_timeout_s: float = Field(30.0, gt=0)
    # Cleaning.
    max_future_skew_s: float = Field(60.0, ge=0)
    out_of_order_window_s: float = Field(600.0, gt=0)
    max_series_per_node: int = Field(20_000, ge=1)
    series_idle_expiry_s: float = Field(900.0, gt=0)
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    aggregates: bool = True
    # Memory for record templates (a steady node's next export skips the protobuf walk, see
    # pipeline/_template.py): about 40 KB per node exporting 100 series; 0 turns them off.
    template_memory_bytes: int = Field(128 * 1024 * 1024, ge=0)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9465")
        return value

    @field_validator("remote_write_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:9090/api/v1/write")
        return value


class WorkerSettings(BaseSettings):
    """Everything one pipeline worker reads."""

    model_config = SettingsConfigDict(
        env_prefix="CONTINUUM_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = KafkaSettings()
    pipeline: PipelineSettings = PipelineSettings()


_SECRET_KEY = re.compile(r"(^|_)(password|secret|tokens?)$")


def _holds_secret(node: object) -> bool:
    """Tell whether a YAML document holds a non-empty password, secret or token anywhere."""
    if isinstance(node, dict):
        return any(
            (isinstance(k, str) and _SECRET_KEY.search(k) is not None and bool(v))
            or _holds_secret(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return any(_holds_secret(item) for item in node)
    return False


def _load_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections at top level")
    if path.stat().st_mode & 0o077 and _holds_secret(loaded):
        raise ConfigError(
            f"config file {path} holds secrets (passwords or tokens) and others can read it: "
            f"run `chmod 600 {path}`"
        )
    return {k: v for k, v in loaded.items() if k in ("kafka", "pipeline")}


def load_settings(path: Path | None) -> WorkerSettings:
    """Load the worker settings from ``path`` (if any) with environment overrides.

    Raises:
        ConfigError: a value is invalid; the message names its dotted key.
    """
    file_values = _load_yaml(path)

    class _FromFile(WorkerSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Environment beats the file; the file beats defaults.
            return (env_settings, InitSettingsSource(settings_cls, file_values))

    try:
        return _FromFile()
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{key}: {first['msg']}") from err


def kafka_client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """kafka-python keyword arguments for the connection and security settings."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
    }
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_mechanism"):
        value = getattr(kafka, key)
        if value is not None:
            options[key] = value
    if kafka.sasl_username is not None:
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password
    return options
