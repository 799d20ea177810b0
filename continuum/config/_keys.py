"""Unknown keys: every key of a section must be a field of its model, or the load fails.

A misspelt key (``bootstrap_server``) would otherwise be dropped in silence and its default
used. The check walks a section against its model, msgspec struct or pydantic model alike, into
nested models and lists of them, and names the nearest valid key::

    kafka.bootstrap_server: unknown key in continuum.yaml; did you mean `bootstrap_servers`?
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Annotated, Any, Union

import msgspec

__all__ = ["model_fields", "unknown_keys"]


def model_fields(model: Any) -> dict[str, Any] | None:
    """Field name (and alias) -> annotation of a msgspec struct or pydantic model; None else."""
    if not isinstance(model, type):
        return None
    if issubclass(model, msgspec.Struct):
        return {f.encode_name: f.type for f in msgspec.structs.fields(model)}
    fields = getattr(model, "model_fields", None)  # pydantic, without importing it here
    if isinstance(fields, dict):
        named: dict[str, Any] = {}
        for name, info in fields.items():
            named[name] = info.annotation
            if getattr(info, "alias", None):
                named[info.alias] = info.annotation
        return named
    return None


def _inner(annotation: Any) -> tuple[Any, bool]:
    """The model a field holds (directly, optionally, or as list items), and whether in a list.

    A mapping field (``labels: dict[str, str]``) holds no model: its keys are the user's.
    """
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _inner(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found, listed = _inner(arg)
            if model_fields(found) is not None:
                return found, listed
        return None, False
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        found = _inner(args[0])[0] if args else None
        return found, True
    return annotation, False


def unknown_keys(model: Any, data: Any, path: str) -> list[tuple[str, str | None]]:
    """Every key of ``data`` that ``model`` lacks, dotted from ``path``, with the nearest valid.

    Returns:
        ``(dotted key, suggestion or None)`` pairs, in the document's order.
    """
    fields = model_fields(model)
    if fields is None or not isinstance(data, dict):
        return []
    found: list[tuple[str, str | None]] = []
    for key, value in data.items():
        dotted = f"{path}.{key}"
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            found.append((dotted, close[0] if close else None))
            continue
        inner, listed = _inner(fields[key])
        if listed and isinstance(value, list):
            for i, item in enumerate(value):
                found += unknown_keys(inner, item, f"{dotted}[{i}]")
        else:
            found += unknown_keys(inner, value, dotted)
    return found


def unknown_key_message(dotted: str, suggestion: str | None, where: str) -> str:
    """``kafka.bootstrap_server: unknown key in X; did you mean `bootstrap_servers`?``"""
    hint = f"; did you mean `{suggestion}`?" if suggestion else "; remove it or check the docs"
    return f"{dotted}: unknown key {where}{hint}"
