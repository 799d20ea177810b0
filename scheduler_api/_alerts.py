"""Node health from Alertmanager: firing node-level alerts mark nodes unhealthy, resolved clear.

Every event is kept in the database (history), and so is the active set (table
``alert_active``): every API replica sharing the database sees the same marks, and a restart
does not forget a node that is down. A database from a release that kept the active set in
memory gets it rebuilt from the history at start::

    book = AlertBook(db, unhealthy_severities={"critical"})
    changed = book.apply([AlertEvent("firing", {"alertname": "ContinuumNodeDown", "node": "n1",
                                                 "severity": "critical"}, "fp1", starts_at="...")])
    book.unhealthy()  # {"n1": ("ContinuumNodeDown",)}

Alerts labelled ``category: hardware`` (failing memory, CPUs, disks, GPUs, filesystems) mark
their node unhealthy whatever their severity, and name the component they are about:
``ContinuumNodeCorrectedHardwareErrors (memory mc0_dimm0)``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler_api._store import Connection, Database

__all__ = ["HARDWARE_CATEGORY", "AlertBook", "AlertEvent", "StoredAlertEvent"]

#: The ``category`` label of alerts about failing hardware (deploy/prometheus/rules).
HARDWARE_CATEGORY = "hardware"
# Labels that name the failing component, in the order they are shown.
_COMPONENT_LABELS = ("hw_type", "hw_id", "system_filesystem_mountpoint")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at_s REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    node TEXT NOT NULL,
    severity TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    labels TEXT NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS alert_events_fp ON alert_events (fingerprint, seq)"
# The firing alerts, one row per fingerprint: the marks every replica reads.
_ACTIVE = """
CREATE TABLE IF NOT EXISTS alert_active (
    fingerprint TEXT PRIMARY KEY,
    received_at_s REAL NOT NULL,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    node TEXT NOT NULL,
    severity TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    labels TEXT NOT NULL
)
"""
_COLUMNS = (
    "received_at_s, fingerprint, status, alertname, node, severity, starts_at, ends_at, labels"
)
_REBUILD_ACTIVE = f"""
INSERT INTO alert_active ({_COLUMNS})
SELECT {_COLUMNS} FROM alert_events
 WHERE seq IN (SELECT MAX(seq) FROM alert_events GROUP BY fingerprint) AND status = 'firing'
"""  # noqa: S608 (built from constants)
_UPSERT_ACTIVE = (
    f"INSERT INTO alert_active ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
    " ON CONFLICT (fingerprint) DO UPDATE SET received_at_s = excluded.received_at_s,"
    " status = excluded.status, alertname = excluded.alertname, node = excluded.node,"
    " severity = excluded.severity, starts_at = excluded.starts_at,"
    " ends_at = excluded.ends_at, labels = excluded.labels"
)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert as Alertmanager reports it (webhook payload version 4)."""

    status: str
    labels: Mapping[str, str]
    fingerprint: str = ""
    starts_at: str = ""
    ends_at: str = ""

    @property
    def key(self) -> str:
        """Alertmanager's fingerprint, or a digest of the labels when absent."""
        if self.fingerprint:
            return self.fingerprint
        canonical = json.dumps(sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoredAlertEvent:
    """One event of the history."""

    received_at_s: float
    fingerprint: str
    status: str
    alertname: str
    node: str
    severity: str
    starts_at: str
    ends_at: str
    labels: dict[str, str]


class AlertBook:
    """Active node-level alerts and their history, both in the database."""

    def __init__(self, db: Database, unhealthy_severities: Collection[str] = ("critical",)):
        self._db = db
        self._severities = frozenset(unhealthy_severities)
        db.ensure_schema(_SCHEMA, _INDEX, _ACTIVE)
        with db.transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM alert_active").fetchone()[0] == 0:
                conn.execute(_REBUILD_ACTIVE)

    def apply(self, events: Sequence[AlertEvent]) -> bool:
        """Record events; return whether the set of unhealthy nodes changed."""
        now_s = time.time()
        stored = [
            StoredAlertEvent(
                now_s,
                event.key,
                event.status,
                event.labels.get("alertname", ""),
                event.labels.get("node", ""),
                event.labels.get("severity", ""),
                event.starts_at,
                event.ends_at,
                dict(event.labels),
            )
            for event in events
        ]
        rows = [_row(e) for e in stored]
        # One write transaction: replicas receiving webhooks at once apply them in turn.
        with self._db.transaction() as conn:
            before = self._unhealthy(_active(conn))
            conn.executemany(
                f"INSERT INTO alert_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                rows,
            )
            firing = [row for event, row in zip(stored, rows, strict=True) if _firing(event)]
            if firing:
                conn.executemany(_UPSERT_ACTIVE, firing)
            resolved = [(e.fingerprint,) for e in stored if not _firing(e)]
            if resolved:
                conn.executemany("DELETE FROM alert_active WHERE fingerprint = ?", resolved)
            return self._unhealthy(_active(conn)) != before

    def _unhealthy(self, active: Sequence[StoredAlertEvent]) -> dict[str, tuple[str, ...]]:
        by_node: dict[str, set[str]] = {}
        for event in active:
            hardware = event.labels.get("category") == HARDWARE_CATEGORY
            if event.node and (hardware or event.severity in self._severities):
                by_node.setdefault(event.node, set()).add(_reason(event, hardware))
        return {node: tuple(sorted(names)) for node, names in by_node.items()}

    def unhealthy(self) -> dict[str, tuple[str, ...]]:
        """Node id -> names of the firing alerts that make it unhealthy."""
        return self._unhealthy(self.active())

    def active(self) -> list[StoredAlertEvent]:
        """Every firing alert, node-level or not."""
        rows = self._db.query("SELECT * FROM alert_active ORDER BY node, alertname, fingerprint")
        return [_stored(row) for row in rows]

    def history(self, limit: int = 100, node: str | None = None) -> list[StoredAlertEvent]:
        """The newest events first."""
        if node is None:
            rows = self._db.query("SELECT * FROM alert_events ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._db.query(
                "SELECT * FROM alert_events WHERE node = ? ORDER BY seq DESC LIMIT ?",
                (node, limit),
            )
        return [_stored(row) for row in rows]


def _firing(event: StoredAlertEvent) -> bool:
    return event.status == "firing"


def _active(conn: Connection) -> list[StoredAlertEvent]:
    return [_stored(row) for row in conn.execute("SELECT * FROM alert_active")]


def _row(e: StoredAlertEvent) -> tuple[object, ...]:
    return (
        e.received_at_s,
        e.fingerprint,
        e.status,
        e.alertname,
        e.node,
        e.severity,
        e.starts_at,
        e.ends_at,
        json.dumps(e.labels, sort_keys=True),
    )


def _reason(event: StoredAlertEvent, hardware: bool) -> str:
    """The alert's name, and for hardware alerts the component it is about."""
    component = [event.labels[k] for k in _COMPONENT_LABELS if event.labels.get(k)]
    if hardware and component:
        return f"{event.alertname} ({' '.join(component)})"
    return event.alertname


def _stored(row: Any) -> StoredAlertEvent:
    return StoredAlertEvent(
        float(str(row["received_at_s"])),
        str(row["fingerprint"]),
        str(row["status"]),
        str(row["alertname"]),
        str(row["node"]),
        str(row["severity"]),
        str(row["starts_at"]),
        str(row["ends_at"]),
        dict(json.loads(str(row["labels"]))),
    )
