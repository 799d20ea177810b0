"""The data-location catalogue: how big each dataset is and where its replicas live.

catalogue = DatasetCatalogue(db)
catalogue.put(DatasetRecord("genome", 5 << 30, nodes=("hpc-01",), sites=("hpc-a",)))
catalogue.get("genome").as_location()
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from scheduler_api._store import Database
from scheduler_api.ranking import DatasetLocation

__all__ = ["DatasetCatalogue", "DatasetRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    nodes TEXT NOT NULL,
    sites TEXT NOT NULL,
    residency INTEGER NOT NULL,
    updated_at_s REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """One catalogue entry."""

    id: str
    size_bytes: int
    nodes: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    residency: bool = False
    updated_at_s: float = 0.0

    def as_location(self) -> DatasetLocation:
        """The ranking model's view of it."""
        return DatasetLocation(self.id, self.size_bytes, self.nodes, self.sites, self.residency)


class DatasetCatalogue:
    """Datasets persisted in SQLite."""

    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema(_SCHEMA)

    def put(self, record: DatasetRecord) -> DatasetRecord:
        """Create or replace a dataset; returns it with its update time."""
        stored = DatasetRecord(
            record.id,
            record.size_bytes,
            tuple(record.nodes),
            tuple(record.sites),
            record.residency,
            time.time(),
        )
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.size_bytes,
                    json.dumps(list(stored.nodes)),
                    json.dumps(list(stored.sites)),
                    int(stored.residency),
                    stored.updated_at_s,
                ),
            )
        return stored

    def get(self, dataset_id: str) -> DatasetRecord | None:
        """The dataset, or ``None`` when it is not catalogued."""
        rows = self._db.query("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
        if not rows:
            return None
        row = rows[0]
        return DatasetRecord(
            row["id"],
            row["size_bytes"],
            tuple(json.loads(row["nodes"])),
            tuple(json.loads(row["sites"])),
            bool(row["residency"]),
            row["updated_at_s"],
        )
