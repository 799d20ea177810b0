"""Tools the deploy/ tests run; each skips, saying how to install it, where it is missing."""

from __future__ import annotations

import shutil

import pytest


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install -y {package})")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool", "prometheus-alertmanager")


@pytest.fixture(scope="session")
def systemd_analyze() -> str:
    return _tool("systemd-analyze", "systemd")
