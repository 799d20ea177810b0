"""Real services for integration tests: Tansu (Kafka protocol), Prometheus and Alertmanager.

Each starts on free loopback ports in a temporary directory and is stopped after use. Session
fixtures are shared; the ``fresh_*`` ones are per test, for tests that stop or restart them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from continuum._services import (
    AlertmanagerServer,
    PrometheusServer,
    TansuBroker,
    free_port,
)

__all__ = ["free_port"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _start_tansu(workdir: Path) -> TansuBroker:
    broker = TansuBroker("127.0.0.1", free_port(), workdir)
    broker.start()
    return broker


def _start_prometheus(workdir: Path) -> PrometheusServer:
    server = PrometheusServer("127.0.0.1", free_port(), workdir, evaluation_interval_s=1.0)
    server.start()
    return server


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """A Tansu broker shared by the session (``.bootstrap`` is ``host:port``)."""
    broker = _start_tansu(tmp_path_factory.mktemp("tansu"))
    yield broker
    broker.stop()


@pytest.fixture
def fresh_tansu(tmp_path: Path) -> Iterator[TansuBroker]:
    """A Tansu broker of this test alone, free to stop and restart."""
    broker = _start_tansu(tmp_path / "tansu")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A Prometheus shared by the session, with the remote-write receiver on."""
    server = _start_prometheus(tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


@pytest.fixture
def fresh_prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A Prometheus of this test alone, free to stop and restart (its TSDB survives)."""
    server = _start_prometheus(tmp_path / "prometheus")
    yield server
    server.stop()


@pytest.fixture
def alertmanager_factory(tmp_path: Path) -> Iterator[Callable[..., AlertmanagerServer]]:
    """Start Alertmanagers that route every alert to a given webhook URL."""
    started: list[AlertmanagerServer] = []

    def start(webhook_url: str, bearer_token_file: Path | None = None) -> AlertmanagerServer:
        server = AlertmanagerServer(
            "127.0.0.1",
            free_port(),
            tmp_path / f"alertmanager-{len(started)}",
            webhook_url=webhook_url,
            bearer_token_file=bearer_token_file,
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The folder of this interpreter's scripts (``continuum`` lives there)."""
    import sys

    return Path(sys.executable).parent


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment for subprocesses with a private state directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env
