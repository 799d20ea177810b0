"""SQLite persistence shared by the API's catalogues (datasets, alert history, placements).

One connection per process, serialised by a lock: SQLite writes are single-writer anyway, and
the API's writes are small. WAL mode lets readers in other processes (``sqlite3`` CLI) see data
while the API runs::

    db = Database(Path("continuum.db"))
    db.ensure_schema("CREATE TABLE IF NOT EXISTS placements (id TEXT PRIMARY KEY, plan TEXT)")
    with db.transaction() as conn:
        conn.execute("INSERT INTO placements VALUES (?, ?)", ("p1", "{}"))
    rows = db.query("SELECT id FROM placements")
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Database", "StoreError"]


class StoreError(RuntimeError):
    """The database could not be opened or written."""


class Database:
    """A thread-safe SQLite connection with small helpers.

    Args:
        path: the database file (created with its folder); ``":memory:"`` for tests.
    """

    def __init__(self, path: Path | str):
        self.path = path
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"api.database: cannot open {path}: {err}") from err
        self._lock = threading.Lock()

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
            have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and a transaction; commit on success, roll back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read and return every row."""
        with self._lock:
            return list(self._conn.execute(sql, params))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
