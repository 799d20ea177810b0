"""Load placed on nodes that their metrics do not show yet, kept in the API's database.

Without this, a burst of requests all see the same snapshot and all pick the same best node.
Each placement is counted against its node until it expires (by then the pipeline's one-minute
averages carry it). The reservations live in the database, so API replicas sharing one
(PostgreSQL) count each other's::

    ledger = PendingLedger(db, ttl_s=60)
    ledger.add("n1", Reservation(cpu_cores=2), now_s=time.time())
    ledger.totals(now_s=time.time())  # {"n1": Reservation(cpu_cores=2, ...)}

A reservation that must be chosen against the totals it adds to (rank, then reserve the best)
runs in :meth:`PendingLedger.reserve`, inside the database's single-writer transaction, so two
replicas never both reserve the last free cores of a node.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from scheduler_api._store import Connection, Database
from scheduler_api.ranking import Reservation

__all__ = ["PendingLedger"]

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS pending_reservations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        node_id TEXT NOT NULL,
        expires_at_s REAL NOT NULL,
        cpu_cores REAL NOT NULL,
        memory_bytes REAL NOT NULL,
        gpus INTEGER NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS pending_reservations_expiry ON pending_reservations (expires_at_s)",
)
_TOTALS = """
    SELECT node_id, SUM(cpu_cores) AS cpu_cores, SUM(memory_bytes) AS memory_bytes,
           SUM(gpus) AS gpus
      FROM pending_reservations
     WHERE expires_at_s > ?
     GROUP BY node_id
"""

Choice = tuple[str, Reservation] | None
"""What :meth:`PendingLedger.reserve`'s chooser returns: a node and its load, or nothing."""


class PendingLedger:
    """Recent reservations per node, each expiring ``ttl_s`` after it was made."""

    def __init__(self, db: Database, ttl_s: float):
        self.ttl_s = ttl_s
        self._db = db
        db.ensure_schema(*_SCHEMA)
        # SQLite is one API process's (docs/storage.md): its totals change only through this
        # ledger or by expiring, so they are kept until the earliest counted reservation expires
        # or this ledger writes. Every ranking reads them; a read of the table cost 0.3 ms.
        # Replicas on PostgreSQL read the table each time: another replica may have written.
        self._cacheable = db.dialect == "sqlite"
        self._cache: tuple[float, float, dict[str, Reservation]] | None = None
        self._lock = threading.Lock()

    def add(self, node_id: str, reservation: Reservation, *, now_s: float) -> None:
        """Count ``reservation`` against ``node_id`` from now on."""
        self.reserve(lambda _: (node_id, reservation), now_s=now_s)

    def reserve(
        self, choose: Callable[[dict[str, Reservation]], Choice], *, now_s: float
    ) -> Choice:
        """Call ``choose`` with the current totals and count what it returns, atomically
        across every process sharing the database; return its choice."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM pending_reservations WHERE expires_at_s <= ?", (now_s,))
            choice = choose(_totals(conn, now_s))
            if choice is not None and self.ttl_s > 0:
                node_id, reservation = choice
                conn.execute(
                    "INSERT INTO pending_reservations"
                    " (node_id, expires_at_s, cpu_cores, memory_bytes, gpus)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        node_id,
                        now_s + self.ttl_s,
                        float(reservation.cpu_cores),
                        float(reservation.memory_bytes),
                        int(reservation.gpus),
                    ),
                )
                with self._lock:
                    self._cache = None
        return choice

    def totals(self, *, now_s: float) -> dict[str, Reservation]:
        """Unexpired reservations summed per node."""
        if self._cacheable:
            with self._lock:
                cache = self._cache
            if cache is not None and cache[0] <= now_s < cache[1]:
                return dict(cache[2])
        rows = self._db.query(_TOTALS, (now_s,))
        totals = _sum_rows(rows)
        if self._cacheable:
            ((first_expiry,),) = self._db.query(
                "SELECT MIN(expires_at_s) FROM pending_reservations WHERE expires_at_s > ?",
                (now_s,),
            )
            until = math.inf if first_expiry is None else float(first_expiry)
            with self._lock:
                self._cache = (now_s, until, totals)
        return dict(totals)

    def count(self, *, now_s: float) -> int:
        """How many reservations are unexpired."""
        ((total,),) = self._db.query(
            "SELECT COUNT(*) FROM pending_reservations WHERE expires_at_s > ?", (now_s,)
        )
        return int(total)


def _totals(conn: Connection, now_s: float) -> dict[str, Reservation]:
    return _sum_rows(conn.execute(_TOTALS, (now_s,)).fetchall())


def _sum_rows(rows: Sequence[Any]) -> dict[str, Reservation]:
    # PostgreSQL sums BIGINT into NUMERIC (a Decimal): convert like SQLite's int and float.
    return {
        str(row["node_id"]): Reservation(
            float(row["cpu_cores"]), float(row["memory_bytes"]), int(row["gpus"])
        )
        for row in rows
    }
