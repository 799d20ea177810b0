"""The one loader: a section from continuum.yaml and the environment, checked against its model.

A model is a msgspec struct (the agents', where pydantic's import cost matters) or a pydantic
model (the pipeline's, the API's, the stack's); both go through the same reading, the same
unknown-key check and the same error form, ``section.dotted.key: what is wrong``::

    kafka = load_section(KafkaSettings, "kafka", Path("continuum.yaml"))
    api = load_section(ApiSettings, "api", None, overrides={"token_file": path})
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct

from continuum.config._keys import unknown_key_message, unknown_keys
from continuum.config._secret import Secret
from continuum.config._source import ConfigError, environment, file_section, merge, read_file

__all__ = ["check_keys", "load_section", "validate_section"]

_M = TypeVar("_M")


def check_keys(model: Any, section: str, data: dict[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` on the first key of ``data`` that ``model`` lacks."""
    for dotted, suggestion in unknown_keys(model, data, section):
        raise ConfigError(unknown_key_message(dotted, suggestion, where))


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


def _explain_struct(model: type[Struct], section: str, error: msgspec.ValidationError) -> str:
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


def validate_section(model: type[_M], section: str, data: dict[str, Any]) -> _M:
    """Check ``data`` (one section, as read) against ``model``, unknown keys included.

    Raises:
        ConfigError: an unknown key or an invalid value; the message names the dotted key.
    """
    check_keys(model, section, data, "")
    if issubclass(model, Struct):
        try:
            return msgspec.convert(data, type=model, strict=False, dec_hook=_decode_extra)
        except msgspec.ValidationError as err:
            raise ConfigError(_explain_struct(model, section, err)) from None
    # A pydantic model: imported only by the roles that use pydantic anyway.
    from pydantic import ValidationError

    try:
        return typing.cast(_M, model.model_validate(data))  # type: ignore[attr-defined]
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join([section, *(str(part) for part in first["loc"])])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{key}: {message}") from None


def load_section(
    model: type[_M],
    section: str,
    config_file: Path | None,
    *,
    overrides: dict[str, Any] | None = None,
    file_sections: dict[str, Any] | None = None,
) -> _M:
    """Load one section of continuum.yaml, the environment beating the file.

    Args:
        model: the section's settings type (msgspec struct or pydantic model).
        section: the YAML section and environment prefix (``agent`` reads
            ``CONTINUUM_AGENT__*``).
        config_file: the YAML file, or None for defaults and environment only.
        overrides: values the caller sets, above the file and below the environment.
        file_sections: ``config_file`` as already read (``read_file``), for a caller that
            loads every section of it and reads it once.

    Raises:
        ConfigError: the file is unreadable, or a key is unknown or a value invalid; the
            message names the dotted key (and, for an unknown key, where it was found).
    """
    read = read_file(config_file) if file_sections is None else file_sections
    from_file, from_env = file_section(read, section, config_file), environment(section)
    check_keys(model, section, from_file, f"in {config_file}")
    check_keys(model, section, from_env, f"in the environment (CONTINUUM_{section.upper()}__*)")
    data = merge(merge(from_file, overrides or {}), from_env)
    return validate_section(model, section, data)
