"""Settings of the pipeline worker: sections ``kafka`` and ``pipeline`` of continuum.yaml.

Every key can be overridden from the environment, e.g. ``CONTINUUM_PIPELINE__GROUP_ID=g2`` or
``CONTINUUM_KAFKA__BOOTSTRAP_SERVERS=10.0.0.5:9092``::

    settings = load_settings(Path("continuum.yaml"))
    print(settings.pipeline.remote_write_url)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from continuum._http_auth import HttpAuth
from continuum.config import (
    ConfigError,
    KafkaSettings,
    load_section,
    parse_listen,
    validate_section,
)

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


class PipelineSettings(BaseModel):
    """The worker's own knobs; defaults suit one worker next to a local Prometheus."""

    model_config = ConfigDict(extra="forbid")

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
        parse_listen(value)  # the one reading of a listen key, as the agents' (ValueError)
        return value

    @field_validator("remote_write_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:9090/api/v1/write")
        return value


def _kafka_section(value: object) -> object:
    # The shared ``kafka`` type is a msgspec struct: a mapping goes through the one loader.
    if isinstance(value, dict):
        return validate_section(KafkaSettings, "kafka", value)
    return value


class WorkerSettings(BaseModel):
    """Everything one pipeline worker reads: the shared ``kafka`` section and ``pipeline``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    kafka: Annotated[KafkaSettings, BeforeValidator(_kafka_section)] = Field(
        default_factory=KafkaSettings
    )
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)


def load_settings(path: Path | None) -> WorkerSettings:
    """Load sections ``kafka`` and ``pipeline`` from ``path`` (if any), the environment
    beating the file.

    Raises:
        ConfigError: an unknown key or an invalid value; the message names its dotted key.
    """
    return WorkerSettings(
        kafka=load_section(KafkaSettings, "kafka", path),
        pipeline=load_section(PipelineSettings, "pipeline", path),
    )


def kafka_client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """kafka-python keyword arguments for the connection and security settings.

    The request timeout is kafka-python's own unless ``kafka.request_timeout_ms`` is set: a
    group join waits up to the rebalance timeout, longer than the agents' producer timeout.
    """
    return kafka.client_options(default_request_timeout_ms=None)
