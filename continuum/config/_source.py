"""Where settings come from: continuum.yaml, then ``CONTINUUM_<SECTION>__<KEY>`` variables.

Every component reads its sections through these functions, so a file is parsed, checked for
readable secrets and overridden from the environment the same way everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from continuum.config._secret import holds_secret

__all__ = [
    "ConfigError",
    "environment",
    "file_section",
    "merge",
    "read_file",
    "section_data",
    "state_dir",
]


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the dotted key and the fix."""


def state_dir() -> Path:
    """The local state directory, ``$XDG_STATE_HOME/continuum`` (docs/architecture.md)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "continuum"


def read_file(path: Path | None) -> dict[str, Any]:
    """The sections of a continuum.yaml (``{}`` for no file).

    Raises:
        ConfigError: the file is missing, unreadable or not a YAML mapping, or it holds a
            credential that others may read (the message gives the ``chmod``).
    """
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"config file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections at top level")
    # A credential in a file others can read is a leak waiting to happen: refuse, say the fix.
    if path.stat().st_mode & 0o077 and holds_secret(loaded):
        raise ConfigError(
            f"config file {path} holds secrets (passwords or tokens) and others can read it: "
            f"run `chmod 600 {path}`"
        )
    return loaded


def file_section(loaded: dict[str, Any], section: str, path: Path | None) -> dict[str, Any]:
    """One section of a read file, which must be a mapping (``{}`` when absent)."""
    data = loaded.get(section)
    if data is None:
        return {}
    if not isinstance(data, dict):
        where = f" in {path}" if path is not None else ""
        raise ConfigError(f"{section}: must be a mapping of keys{where}, got {type(data).__name__}")
    return data


def environment(section: str) -> dict[str, Any]:
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


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def section_data(path: Path | None, section: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A section's keys from the file and from the environment, apart (the file's first)."""
    return file_section(read_file(path), section, path), environment(section)
