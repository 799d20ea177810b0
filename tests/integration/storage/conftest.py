"""Fixtures of the storage tests: a PostgreSQL server, and a database of each test's own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from continuum._services import free_port
from tests.integration.storage.postgres import PostgresServer


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
