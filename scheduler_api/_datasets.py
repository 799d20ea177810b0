"""The data-location catalogue: how big each dataset is, where its replicas live, in what store.

catalogue = DatasetCatalogue(db)
catalogue.put(DatasetRecord("genome", 5 << 30, nodes=("hpc-01",), sites=("hpc-a",)))
catalogue.get("genome").as_location()
catalogue.list(limit=50)
catalogue.delete("genome")   # True: it was there
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args

from scheduler_api._store import Database
from scheduler_api.ranking import DatasetLocation

__all__ = ["DEFAULT_STORAGE", "STORAGE_KINDS", "DatasetCatalogue", "DatasetRecord", "StorageKind"]

StorageKind = Literal["memory", "disk", "object"]
"""Where a dataset's copies are held: a node's memory, its filesystem, or an object store."""
STORAGE_KINDS: tuple[str, ...] = get_args(StorageKind)
# A catalogued dataset is files on a node unless it says otherwise.
DEFAULT_STORAGE: StorageKind = "disk"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    nodes TEXT NOT NULL,
    sites TEXT NOT NULL,
    residency INTEGER NOT NULL,
    updated_at_s REAL NOT NULL,
    storage TEXT NOT NULL DEFAULT 'disk',
    urls TEXT NOT NULL DEFAULT '[]'
)
"""
# Catalogues written before datasets recorded their storage kind and where to fetch them.
_ADDED_COLUMNS = {
    "storage": f"TEXT NOT NULL DEFAULT '{DEFAULT_STORAGE}'",
    "urls": "TEXT NOT NULL DEFAULT '[]'",
}


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """One catalogue entry."""

    id: str
    size_bytes: int
    nodes: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    residency: bool = False
    updated_at_s: float = 0.0
    storage: StorageKind = DEFAULT_STORAGE
    #: Where a copy can be fetched (``/v1/data/<id>`` on a node's worker or a store).
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.storage not in STORAGE_KINDS:
            raise ValueError(
                f"dataset {self.id}: storage {self.storage!r} is not one of "
                + ", ".join(STORAGE_KINDS)
            )

    def as_location(self) -> DatasetLocation:
        """The ranking model's view of it."""
        return DatasetLocation(
            self.id, self.size_bytes, self.nodes, self.sites, self.residency, self.storage
        )


class DatasetCatalogue:
    """Datasets persisted in SQLite."""

    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema(_SCHEMA)
        db.ensure_columns("datasets", _ADDED_COLUMNS)

    def put(self, record: DatasetRecord) -> DatasetRecord:
        """Create or replace a dataset; returns it with its update time."""
        stored = DatasetRecord(
            record.id,
            record.size_bytes,
            tuple(record.nodes),
            tuple(record.sites),
            record.residency,
            time.time(),
            record.storage,
            tuple(record.urls),
        )
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO datasets "
                "(id, size_bytes, nodes, sites, residency, updated_at_s, storage, urls) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.size_bytes,
                    json.dumps(list(stored.nodes)),
                    json.dumps(list(stored.sites)),
                    int(stored.residency),
                    stored.updated_at_s,
                    stored.storage,
                    json.dumps(list(stored.urls)),
                ),
            )
        return stored

    def get(self, dataset_id: str) -> DatasetRecord | None:
        """The dataset, or ``None`` when it is not catalogued."""
        rows = self._db.query("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
        return _record(rows[0]) if rows else None

    def list(self, limit: int = 100, offset: int = 0) -> list[DatasetRecord]:
        """Datasets in id order, ``limit`` from ``offset`` (for paging)."""
        rows = self._db.query(
            "SELECT * FROM datasets ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_record(row) for row in rows]

    def count(self) -> int:
        """How many datasets are catalogued."""
        ((total,),) = self._db.query("SELECT COUNT(*) FROM datasets")
        return int(total)

    def delete(self, dataset_id: str) -> bool:
        """Forget a dataset; False when it was not catalogued."""
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        return cursor.rowcount > 0


def _record(row: Any) -> DatasetRecord:
    return DatasetRecord(
        row["id"],
        row["size_bytes"],
        tuple(json.loads(row["nodes"])),
        tuple(json.loads(row["sites"])),
        bool(row["residency"]),
        row["updated_at_s"],
        row["storage"],
        tuple(json.loads(row["urls"])),
    )
