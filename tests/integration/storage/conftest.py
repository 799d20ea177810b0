"""Fixtures of the storage tests: both metric stores (Prometheus and VictoriaMetrics with
vmalert, each evaluating the shipped rule files), a PostgreSQL server, and a database of each
test's own.

``store`` is parametrised over the two backends: a test that takes it runs on each."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum._victoria import VictoriaMetricsServer, VmAlert
from continuum.services import PrometheusServer, free_port
from tests.integration.storage.postgres import PostgresServer

RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules"
BACKENDS = ("prometheus", "victoriametrics")
Store = PrometheusServer | VictoriaMetricsServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the session."""
    server = PostgresServer("127.0.0.1", free_port())
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of an empty database of this test alone."""
    return postgres.create_database(f"t_{secrets.token_hex(6)}")


@pytest.fixture(scope="session")
def ruled_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A Prometheus evaluating the shipped rule files every second."""
    server = PrometheusServer(
        "127.0.0.1",
        free_port(),
        tmp_path_factory.mktemp("prometheus-ruled"),
        rule_files=[str(RULES / "*.yml")],
        evaluation_interval_s=1.0,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    """A VictoriaMetrics with vmalert evaluating the shipped rule files every second."""
    workdir = tmp_path_factory.mktemp("victoria")
    server = VictoriaMetricsServer("127.0.0.1", free_port(), workdir / "store")
    server.start()
    rules = VmAlert(
        "127.0.0.1",
        free_port(),
        workdir / "vmalert",
        store=server,
        rule_files=[str(RULES / "*.yml")],
    )
    try:
        rules.start()
        yield server
    finally:
        rules.stop()
        server.stop()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    """Each backend in turn, with the shipped rules evaluated."""
    name = "ruled_prometheus" if request.param == "prometheus" else "victoria_metrics"
    server: Store = request.getfixturevalue(name)
    return server
