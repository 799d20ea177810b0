"""Node health from Alertmanager: firing node-level alerts mark nodes unhealthy, resolved clear.

Every event is kept in SQLite (history); the active set is rebuilt from it at start, so a
restart does not forget a node that is down::

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
import sqlite3
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from scheduler_api._store import Database

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
    """Active node-level alerts and their history."""

    def __init__(self, db: Database, unhealthy_severities: Collection[str] = ("critical",)):
        self._db = db
        self._severities = frozenset(unhealthy_severities)
        self._lock = threading.Lock()
        db.ensure_schema(_SCHEMA, _INDEX)
        self._active: dict[str, StoredAlertEvent] = {}
        for row in db.query(
            "SELECT * FROM alert_events WHERE seq IN "
            "(SELECT MAX(seq) FROM alert_events GROUP BY fingerprint) AND status = 'firing'"
        ):
            event = _stored(row)
            self._active[event.fingerprint] = event

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
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO alert_events (received_at_s, fingerprint, status, alertname, node,"
                " severity, starts_at, ends_at, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
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
                    for e in stored
                ],
            )
        with self._lock:
            before = self._unhealthy_locked()
            for event in stored:
                if event.status == "firing":
                    self._active[event.fingerprint] = event
                else:
                    self._active.pop(event.fingerprint, None)
            return self._unhealthy_locked() != before

    def _unhealthy_locked(self) -> dict[str, tuple[str, ...]]:
        by_node: dict[str, set[str]] = {}
        for event in self._active.values():
            hardware = event.labels.get("category") == HARDWARE_CATEGORY
            if event.node and (hardware or event.severity in self._severities):
                by_node.setdefault(event.node, set()).add(_reason(event, hardware))
        return {node: tuple(sorted(names)) for node, names in by_node.items()}

    def unhealthy(self) -> dict[str, tuple[str, ...]]:
        """Node id -> names of the firing alerts that make it unhealthy."""
        with self._lock:
            return self._unhealthy_locked()

    def active(self) -> list[StoredAlertEvent]:
        """Every firing alert, node-level or not."""
        with self._lock:
            return sorted(self._active.values(), key=lambda e: (e.node, e.alertname))

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


def _reason(event: StoredAlertEvent, hardware: bool) -> str:
    """The alert's name, and for hardware alerts the component it is about."""
    component = [event.labels[k] for k in _COMPONENT_LABELS if event.labels.get(k)]
    if hardware and component:
        return f"{event.alertname} ({' '.join(component)})"
    return event.alertname


def _stored(row: sqlite3.Row) -> StoredAlertEvent:
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
