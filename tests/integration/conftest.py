"""Everything under tests/integration is an integration test (fixtures: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LiveStack

__all__ = ["LiveStack"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
