"""The schema of continuum.yaml: each section, the type that reads it, and checking a file.

The section types live with the components that read them (the agents', the pipeline's, the
API's, the stack's); this table names them, imported only when a file is checked, so that
checking does not load a role that is not installed. ``continuum config check`` and
``continuum config show`` read it.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec

from continuum.config._keys import unknown_key_message
from continuum.config._load import load_section
from continuum.config._secret import Secret, redact
from continuum.config._source import ConfigError, read_file

__all__ = ["SECTIONS", "Section", "check_file", "effective_config"]


@dataclass(frozen=True)
class Section:
    """One section of continuum.yaml: its name, its type (``module:Class``) and who reads it."""

    name: str
    model: str
    read_by: str

    def load_model(self) -> Any:
        module, _, attr = self.model.partition(":")
        return getattr(importlib.import_module(module), attr)


SECTIONS: tuple[Section, ...] = (
    Section("identity", "agents._otel._settings:IdentitySettings", "every agent"),
    Section("kafka", "continuum.config._kafka:KafkaSettings", "the agents and the pipeline"),
    Section("agent", "agents.node._settings:NodeSettings", "the node agent"),
    Section("containers", "agents.containers._settings:ContainersSettings", "the container agent"),
    Section("probes", "agents.probes._settings:ProbesSettings", "the probe agent"),
    Section("forward", "agents.forward._settings:ForwardSettings", "the forwarder"),
    Section("worker", "agents.worker._settings:WorkerSettings", "the pull-mode task worker"),
    Section("pipeline", "pipeline._settings:PipelineSettings", "the pipeline worker"),
    Section("api", "scheduler_api._settings:ApiSettings", "the scheduler API"),
    Section("stack", "continuum._stack_settings:StackSettings", "continuum up"),
)
_BY_NAME = {section.name: section for section in SECTIONS}


def _unknown_sections(names: list[str], where: str) -> list[ConfigError]:
    import difflib

    errors = []
    for name in names:
        if name not in _BY_NAME:
            close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.6)
            message = unknown_key_message(name, close[0] if close else None, where)
            errors.append(ConfigError(message.replace("unknown key", "unknown section", 1)))
    return errors


def _environment_sections() -> list[str]:
    """Sections named by ``CONTINUUM_<SECTION>__*`` variables, lowercase."""
    found = []
    for name in os.environ:
        upper = name.upper()
        if upper.startswith("CONTINUUM_") and "__" in upper:
            section = upper[len("CONTINUUM_") :].split("__", 1)[0].lower()
            if section and section not in found:
                found.append(section)
    return found


def _load_all(path: Path | None) -> tuple[dict[str, Any], list[ConfigError], list[str]]:
    """Every section loaded (or the error it gave), and the sections whose role is absent."""
    loaded = read_file(path)
    errors = _unknown_sections([str(k) for k in loaded], f"in {path}")
    errors += _unknown_sections(_environment_sections(), "in the environment (CONTINUUM_*__)")
    values: dict[str, Any] = {}
    absent: list[str] = []
    for section in SECTIONS:
        try:
            model = section.load_model()
        except ImportError:
            absent.append(section.name)
            continue
        try:
            values[section.name] = load_section(model, section.name, path, file_sections=loaded)
        except ConfigError as err:
            errors.append(err)
    return values, errors, absent


def check_file(path: Path | None) -> tuple[list[ConfigError], list[str]]:
    """Every error of a file and the environment, and the sections not checked.

    Returns:
        the errors (an unknown section or key, an invalid value, an unreadable file), and the
        sections whose component is not installed here (their keys were not checked).
    """
    try:
        _values, errors, absent = _load_all(path)
    except ConfigError as err:
        return [err], []
    return errors, absent


def _plain(value: Any) -> Any:
    """Settings as plain data: structs and models to mappings, paths to strings."""
    if isinstance(value, Secret):
        return "**********"
    if isinstance(value, msgspec.Struct):
        return {f: _plain(getattr(value, f)) for f in value.__struct_fields__}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _plain(dump())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "get_secret_value"):  # pydantic's SecretStr
        return "**********"
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def effective_config(path: Path | None) -> dict[str, Any]:
    """The configuration every component would run with: file, environment and defaults,
    with every credential redacted.

    Raises:
        ConfigError: the first error :func:`check_file` would report.
    """
    values, errors, _absent = _load_all(path)
    if errors:
        raise errors[0]
    return {name: redact(_plain(value)) for name, value in values.items()}
