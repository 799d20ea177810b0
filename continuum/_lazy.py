"""Names a package exports but loads on first use, so importing it stays cheap.

A package whose members pull in heavy dependencies (the OpenTelemetry SDK, Kafka, Ray,
matplotlib) lists them with the module each lives in and hands the result to Python as the
module's ``__getattr__`` (PEP 562)::

    __getattr__ = lazy_members(__name__, {"Worker": "pipeline._worker"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_members"]


def lazy_members(package: str, members: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``members[name]`` and returns its ``name``."""

    def load(name: str) -> Any:
        module = members.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return load
