"""Settings of the scheduler API: section ``api`` of continuum.yaml.

Every key can be overridden from the environment, e.g. ``CONTINUUM_API__LISTEN=0.0.0.0:8443`` or
``CONTINUUM_API__WEIGHTS__ENERGY=0``::

    settings = load_settings(Path("continuum.yaml"))
    app = create_app(settings)
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from continuum._http_auth import HttpAuth
from continuum.config import ConfigError, load_section, parse_listen, state_dir
from scheduler_api._subjects import parse_subject
from scheduler_api.executors import DEFAULT_MAX_BYTES_PER_STREAM
from scheduler_api.ranking import DEFAULT_STALE_AFTER_S, Weights

__all__ = [
    "ApiSettings",
    "ClientCertificateSpec",
    "ConfigError",
    "Scope",
    "TaskLogSettings",
    "TokenSpec",
    "WeightSettings",
    "load_settings",
]

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"
DEFAULT_SNAPSHOT_INTERVAL_S = 5.0
DEFAULT_SNAPSHOT_MAX_AGE_S = 120.0
DEFAULT_PENDING_TTL_S = 60.0
DEFAULT_QUERY_TIMEOUT_S = 5.0
#: Attempts of each task whose output is kept.
DEFAULT_ATTEMPTS_KEPT = 3
# ``api.database`` names a PostgreSQL server rather than a SQLite file.
_POSTGRES_URL = re.compile(r"^postgres(ql)?://")


class Scope(StrEnum):
    """What a bearer token may do."""

    READ = "read"
    SCHEDULE = "schedule"
    ALERTS = "alerts"


class TokenSpec(BaseModel):
    """One bearer token (inline or in a file) and its scopes."""

    token: str | None = None
    token_file: Path | None = None
    scopes: list[Scope] = Field(default_factory=lambda: list(Scope))

    @model_validator(mode="after")
    def _one_source(self) -> TokenSpec:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        return self


class ClientCertificateSpec(BaseModel):
    """A client certificate subject (verified against ``api.tls_client_ca_file``) and its scopes.

    ``subject`` is an RFC 4514 name, e.g. ``CN=continuum-scheduler,O=continuum``; a certificate
    matches when its subject has exactly these attributes, in any order. Scopes default to
    ``schedule`` alone, what kube-scheduler's extender calls need.
    """

    model_config = ConfigDict(extra="forbid")

    subject: str
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.SCHEDULE])

    @field_validator("subject")
    @classmethod
    def _distinguished_name(cls, value: str) -> str:
        parse_subject(value)
        return value


class WeightSettings(BaseModel):
    """Score weights (see :class:`scheduler_api.ranking.Weights`)."""

    cpu_headroom: float = Field(1.0, ge=0)
    memory_headroom: float = Field(1.0, ge=0)
    balance: float = Field(0.5, ge=0)
    variability: float = Field(1.0, ge=0)
    pressure: float = Field(1.0, ge=0)
    locality: float = Field(1.0, ge=0)
    speed: float = Field(0.5, ge=0)
    energy: float = Field(0.25, ge=0)
    risk_margin: float = Field(1.0, ge=0)
    risk_sensitivity: float = Field(1.0, gt=0)
    storage: float = Field(0.5, ge=0)

    def to_weights(self) -> Weights:
        return Weights(**self.model_dump())


class TaskLogSettings(BaseModel):
    """How task output is captured and kept (``api.task_logs``; ``continuum run`` reads it too).

    Attributes:
        max_bytes_per_stream: bytes of stdout, and of stderr, kept per attempt (the end).
        attempts_kept: attempts kept per task, the newest.
        redact_env: environment variables whose values are replaced by ``[REDACTED]``, in the
            worker (its environment) and again when the API stores the logs (the API's).
    """

    model_config = ConfigDict(extra="forbid")

    max_bytes_per_stream: int = Field(DEFAULT_MAX_BYTES_PER_STREAM, ge=0, le=64 << 20)
    attempts_kept: int = Field(DEFAULT_ATTEMPTS_KEPT, ge=1, le=100)
    redact_env: list[str] = Field(default_factory=list)


class ApiSettings(BaseSettings):
    """Everything the scheduler API reads (section ``api``).

    Attributes:
        listen: ``host:port`` to serve on.
        prometheus_url: Prometheus (or a compatible query API) base URL.
        prometheus_auth: basic auth or a bearer token, and TLS, toward ``prometheus_url``
            (secrets from files).
        token_file: a file holding one token with every scope (the local token).
        tokens: further tokens with their scopes.
        database: where the dataset catalogue, alert history, placements, reservations and
            alert marks live: a SQLite file (the default), or a ``postgresql://`` URL shared by
            API replicas (docs/storage.md).
        snapshot_interval_s: seconds between snapshot refreshes.
        stale_after_s: a node whose newest data is older is marked stale and not placed on.
        snapshot_max_age_s: during a Prometheus outage the last snapshot is served until this old.
        pending_ttl_s: how long recently placed load is counted before metrics show it.
        query_timeout_s: timeout of one PromQL query.
        cpu_window: mean CPU use window headroom is computed from (``1m`` or ``5m``); the
            variability score always uses the five-minute mean and spread.
        unhealthy_severities: alert severities that mark a node unhealthy.
        extender_requires_token: the extender routes need the ``schedule`` scope, from a token
            or a client certificate (``client_certificates``); false opens them to anyone (only
            on a private network).
        tls_certfile: serve HTTPS with this certificate (and ``tls_keyfile``).
        tls_keyfile: private key of ``tls_certfile``.
        tls_client_ca_file: mutual TLS: ask clients for a certificate and accept only those
            this CA signed (the handshake of any other is refused); needs ``tls_certfile``.
        client_certificates: verified certificate subjects and the scopes each is given.
        weights: score weights.
        task_logs: how task output is bounded, kept and redacted.
    """

    model_config = SettingsConfigDict(
        env_prefix="CONTINUUM_API__", env_nested_delimiter="__", extra="ignore"
    )

    listen: str = DEFAULT_LISTEN
    prometheus_url: str = DEFAULT_PROMETHEUS_URL
    prometheus_auth: HttpAuth = HttpAuth()
    token_file: Path | None = None
    tokens: list[TokenSpec] = Field(default_factory=list)
    database: Path | str = Field(default_factory=lambda: state_dir() / "continuum.db")
    snapshot_interval_s: float = Field(DEFAULT_SNAPSHOT_INTERVAL_S, ge=0.1)
    stale_after_s: float = Field(DEFAULT_STALE_AFTER_S, gt=0)
    snapshot_max_age_s: float = Field(DEFAULT_SNAPSHOT_MAX_AGE_S, gt=0)
    pending_ttl_s: float = Field(DEFAULT_PENDING_TTL_S, ge=0)
    query_timeout_s: float = Field(DEFAULT_QUERY_TIMEOUT_S, gt=0)
    cpu_window: Literal["1m", "5m"] = "1m"
    unhealthy_severities: list[str] = Field(default_factory=lambda: ["critical"])
    extender_requires_token: bool = True
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    tls_client_ca_file: Path | None = None
    client_certificates: list[ClientCertificateSpec] = Field(default_factory=list)
    weights: WeightSettings = WeightSettings()
    task_logs: TaskLogSettings = TaskLogSettings()

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_listen(value)  # the one reading of a listen key, as the agents' (ValueError)
        return value

    @field_validator("database", mode="before")
    @classmethod
    def _file_or_url(cls, value: object) -> object:
        # A URL stays a string (a Path would fold its "//"); anything else names a file.
        if isinstance(value, str) and not _POSTGRES_URL.match(value):
            return Path(value)
        return value

    @field_validator("prometheus_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:9090")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together: set both or neither")
        if self.tls_client_ca_file is not None and self.tls_certfile is None:
            raise ValueError(
                "tls_client_ca_file needs tls_certfile and tls_keyfile: mutual TLS is served "
                "over HTTPS"
            )
        if self.client_certificates and self.tls_client_ca_file is None:
            raise ValueError(
                "client_certificates needs tls_client_ca_file: set the CA that signs them"
            )
        return self

    @property
    def host(self) -> str:
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen)[1]


def load_settings(path: Path | None = None, **overrides: Any) -> ApiSettings:
    """Load section ``api`` from ``path`` (if any); ``overrides`` beat the file and the
    environment beats both.

    Raises:
        ConfigError: an unknown key or an invalid value; the message names the dotted key.
    """
    return load_section(ApiSettings, "api", path, overrides=overrides)
