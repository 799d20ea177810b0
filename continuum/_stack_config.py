"""Settings of the local stack that `continuum up` runs (section ``stack`` of continuum.yaml).

Every key can be set in the file or overridden by the environment, for example
``CONTINUUM_STACK__PORTS__API=18080`` or ``CONTINUUM_STACK__COMPONENTS__PROBES=false``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

__all__ = ["ConfigError", "StackPorts", "StackSettings", "load_stack_settings", "load_yaml"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_AGENT_INTERVAL_S = 10.0


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the fix."""


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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; the file (when a subclass names one) beats defaults.
        if settings_cls.model_config.get("yaml_file") is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))


def load_yaml(path: Path | None) -> dict[str, Any]:
    """Read a continuum.yaml into a dict (``{}`` for no file)."""
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
    return loaded


def load_stack_settings(path: Path | None) -> StackSettings:
    """Load the ``stack`` section, with environment overrides.

    Raises:
        ConfigError: a value is invalid; the message names the dotted key.
    """
    load_yaml(path)  # fail early with a readable message on a missing or broken file
    settings_cls: type[StackSettings] = StackSettings
    if path is not None:
        settings_cls = type(
            "StackSettingsFromFile",
            (StackSettings,),
            {
                "model_config": SettingsConfigDict(
                    **{
                        **StackSettings.model_config,
                        "yaml_file": path,
                        "yaml_config_section": "stack",
                    }
                )
            },
        )
    try:
        return settings_cls()
    except ValidationError as err:
        first = err.errors()[0]
        key = "stack." + ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{key}: {first['msg']}") from err
