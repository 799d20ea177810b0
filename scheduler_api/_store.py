"""The database shared by the API's catalogues: SQLite by default, PostgreSQL for replicas.

``api.database`` is a file path (SQLite, the embedded default) or a ``postgresql://`` URL,
which lets several API processes share the catalogues and the state that decides placements
(reservations, alert marks). The catalogues write SQLite SQL; on PostgreSQL each statement is
translated (:mod:`scheduler_api._postgres`), so both hold the same schema and answer the same.

One connection per process, serialised by a lock. Writes are single-writer on both: SQLite's
``BEGIN IMMEDIATE``, and on PostgreSQL an advisory lock every replica takes for the length of a
write transaction. WAL mode lets readers in other processes (``sqlite3`` CLI) see data while the
API runs::

    db = Database(Path("continuum.db"))          # or Database("postgresql://api@db:5432/continuum")
    db.ensure_schema("CREATE TABLE IF NOT EXISTS placements (id TEXT PRIMARY KEY, plan TEXT)")
    with db.transaction() as conn:
        conn.execute("INSERT INTO placements VALUES (?, ?)", ("p1", "{}"))
    rows = db.query("SELECT id FROM placements")
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from scheduler_api._postgres import PostgresConnection, is_postgres_url

__all__ = ["Connection", "Cursor", "Database", "StoreError"]


class StoreError(RuntimeError):
    """The database could not be opened or written."""


class Cursor(Protocol):
    """What a statement's result offers on both databases."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What a transaction offers on both databases (``sqlite3.Connection`` is one)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class Database:
    """A thread-safe connection to SQLite or PostgreSQL with small helpers.

    Args:
        target: the SQLite file (created with its folder; ``":memory:"`` for tests), or a
            ``postgresql://`` URL.
    """

    def __init__(self, target: Path | str):
        self.path = target
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: PostgresConnection | None = None
        if is_postgres_url(target):
            self._postgres = _open_postgres(str(target))
        else:
            self._sqlite = _open_sqlite(target)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self._sqlite is not None else "postgresql"

    def ensure_schema(self, *statements: str) -> None:
        """Run DDL statements (use ``IF NOT EXISTS``) in one transaction."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

    def ensure_columns(self, table: str, columns: Mapping[str, str]) -> None:
        """Add the ``columns`` (name -> type and default) that ``table`` lacks.

        For tables made by an older release: ``CREATE TABLE IF NOT EXISTS`` keeps their old
        shape, and SQLite has no ``ADD COLUMN IF NOT EXISTS``.
        """
        with self.transaction() as conn:
            if self._postgres is not None:
                have = self._postgres.columns(table)
            else:
                have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Hold the lock and a write transaction; commit on success, roll back on error."""
        with self._lock:
            if self._postgres is not None:
                yield from self._postgres.write_transaction()
                return
            assert self._sqlite is not None
            self._sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield self._sqlite
            except BaseException:
                self._sqlite.execute("ROLLBACK")
                raise
            self._sqlite.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a read and return every row (each readable by column name and by position)."""
        with self._lock:
            if self._postgres is not None:
                return self._postgres.read(sql, params)
            assert self._sqlite is not None
            return list(self._sqlite.execute(sql, params))

    def close(self) -> None:
        with self._lock:
            if self._postgres is not None:
                self._postgres.close()
            if self._sqlite is not None:
                self._sqlite.close()


def _open_sqlite(path: Path | str) -> sqlite3.Connection:
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"api.database: cannot open {path}: {err}") from err
    return conn


def _open_postgres(url: str) -> PostgresConnection:
    import psycopg

    try:
        return PostgresConnection(url)
    except psycopg.Error as err:
        # The URL may hold a password: name the server, not the URL.
        where = url.rpartition("@")[2]
        raise StoreError(f"api.database: cannot connect to PostgreSQL at {where}: {err}") from err
