"""Credentials in settings: a type that never prints, and how a document's secrets are found.

One rule for every section: a string under a key named ``password``, ``secret``, ``token`` or
``tokens``, or ending in ``_password``, ``_secret``, ``_token`` or ``_tokens``, is a
credential (a flag such as ``extender_requires_token: true`` is not: it is no string).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "Secret", "holds_secret", "is_secret_key", "redact"]

REDACTED = "**********"

_SECRET_KEY = re.compile(r"(^|_)(password|secret|tokens?)$")


class Secret:
    """A credential that never shows in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The credential itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_secret_key(key: object) -> bool:
    """Tell whether a settings key names a credential."""
    return isinstance(key, str) and _SECRET_KEY.search(key.lower()) is not None


def _credential(value: object) -> bool:
    """A value that may be a credential: a non-empty string (or a list of them)."""
    if isinstance(value, list):
        return any(_credential(item) for item in value)
    return isinstance(value, str | Secret) and str(value) != ""


def holds_secret(node: object) -> bool:
    """Tell whether a document holds a non-empty credential anywhere."""
    if isinstance(node, dict):
        return any(
            (is_secret_key(k) and _credential(v)) or holds_secret(v) for k, v in node.items()
        )
    if isinstance(node, list):
        return any(holds_secret(item) for item in node)
    return False


def redact(node: Any) -> Any:
    """A copy of a plain document with every credential replaced by ``**********``."""
    if isinstance(node, dict):
        return {
            k: (REDACTED if is_secret_key(k) and _credential(v) else redact(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [redact(item) for item in node]
    if isinstance(node, Secret):
        return REDACTED
    return node
