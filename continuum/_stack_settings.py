"""Settings of the local stack that `continuum up` runs (section ``stack`` of continuum.yaml).

Every key can be set in the file or overridden by the environment, for example
``CONTINUUM_STACK__PORTS__API=18080`` or ``CONTINUUM_STACK__COMPONENTS__PROBES=false``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from continuum.config import ConfigError, load_section, read_file

__all__ = ["ConfigError", "StackPorts", "StackSettings", "load_stack_settings", "load_yaml"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_AGENT_INTERVAL_S = 10.0


class StackPorts(BaseModel):
    """Loopback ports of each component (docs/contracts.md §4 defaults)."""

    kafka: int = Field(9092, ge=1, le=65535)
    prometheus: int = Field(9090, ge=1, le=65535)
    alertmanager: int = Field(9093, ge=1, le=65535)
    api: int = Field(8080, ge=1, le=65535)
    agent: int = Field(9464, ge=1, le=65535)
    pipeline: int = Field(9465, ge=1, le=65535)
    probes: int = Field(9466, ge=1, le=65535)
    containers: int = Field(9467, ge=1, le=65535)
    # vmalert, when stack.storage is victoriametrics (the store takes the prometheus port).
    vmalert: int = Field(8880, ge=1, le=65535)


class StackComponents(BaseModel):
    """Optional components `continuum up` runs (the core path always runs)."""

    containers: bool = True
    probes: bool = True


class StackSettings(BaseSettings):
    """What `continuum up` starts and where."""

    model_config = SettingsConfigDict(
        env_prefix="CONTINUUM_STACK__", env_nested_delimiter="__", extra="ignore"
    )

    host: str = DEFAULT_HOST
    ports: StackPorts = StackPorts()
    components: StackComponents = StackComponents()
    agent_interval_s: float = Field(DEFAULT_AGENT_INTERVAL_S, ge=1.0)
    health_timeout_s: float = Field(60.0, gt=0)
    # The metric store: Prometheus, or VictoriaMetrics with vmalert (docs/storage.md).
    storage: Literal["prometheus", "victoriametrics"] = "prometheus"


def load_yaml(path: Path | None) -> dict[str, Any]:
    """Read a continuum.yaml into a dict (``{}`` for no file)."""
    return read_file(path)


def load_stack_settings(path: Path | None) -> StackSettings:
    """Load the ``stack`` section, with environment overrides.

    Raises:
        ConfigError: an unknown key or an invalid value; the message names the dotted key.
    """
    return load_section(StackSettings, "stack", path)
