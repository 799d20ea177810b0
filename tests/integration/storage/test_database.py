"""The API's catalogues answer the same on SQLite and on a real PostgreSQL.

Every catalogue (datasets, alert history and marks, placement history, task logs, pending
reservations) runs one script of writes and reads on each database; the answers must be equal.
Times are passed in, so nothing depends on the clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler_api._alerts import AlertBook, AlertEvent
from scheduler_api._datasets import DatasetCatalogue, DatasetRecord
from scheduler_api._pending import PendingLedger
from scheduler_api._settings import TaskLogSettings
from scheduler_api._store import Database
from scheduler_api.ranking import Reservation
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._logs import AttemptLog, TaskLogStore


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    target = (
        str(tmp_path / "continuum.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    database = Database(target)
    assert database.dialect == request.param
    yield database
    database.close()


def _dataset_script(db: Database) -> list[Any]:
    catalogue = DatasetCatalogue(db)
    seen: list[Any] = []
    # Byte counts past 2**31 must survive (BIGINT on PostgreSQL).
    for name in ("zeta", "alpha", "Beta", "genome-%"):
        catalogue.put(DatasetRecord(name, 5 << 33, nodes=("n1",), sites=("s",), storage="object"))
    catalogue.put(DatasetRecord("alpha", 7, residency=True, storage="memory"))  # replaces
    seen.append([(r.id, r.size_bytes, r.nodes, r.residency, r.storage) for r in catalogue.list()])
    seen.append([r.id for r in catalogue.list(limit=2, offset=1)])
    seen.append(catalogue.count())
    seen.append(catalogue.delete("zeta"))
    seen.append(catalogue.delete("zeta"))
    seen.append(catalogue.get("zeta"))
    return seen


def _alert_script(db: Database) -> list[Any]:
    book = AlertBook(db)
    seen: list[Any] = []
    down = AlertEvent("firing", {"alertname": "NodeDown", "node": "n1", "severity": "critical"})
    warm = AlertEvent("firing", {"alertname": "Warm", "node": "n2", "severity": "warning"})
    dimm = AlertEvent(
        "firing",
        {"alertname": "Ecc", "node": "n2", "category": "hardware", "hw_id": "dimm0"},
        "fp-ecc",
    )
    seen.append(book.apply([down, warm]))
    seen.append(book.apply([warm]))  # nothing new
    seen.append(book.apply([dimm]))
    seen.append(book.unhealthy())
    seen.append(book.apply([AlertEvent("resolved", down.labels)]))
    seen.append(book.unhealthy())
    seen.append([(e.alertname, e.node) for e in book.active()])
    seen.append([(e.status, e.alertname) for e in book.history(limit=3)])
    seen.append([e.alertname for e in book.history(node="n1")])
    # A restart (a new book on the same database) keeps the marks.
    seen.append(AlertBook(db).unhealthy())
    return seen


def _history_script(db: Database) -> list[Any]:
    history = PlacementHistory(db)
    seen: list[Any] = []
    run = history.open_run("heft", at_s=1_000.0)
    seen.append(history.record_transition(run, "square-1", "started", "n1", 1_001.0))  # unknown
    for task_id in ("square-1", "square-2"):
        seen.append(history.record_transition(run, task_id, "placed", "n1", 1_001.0))
        history.record_transition(run, task_id, "started", "n1", 1_002.0)
    history.record_transition(
        run, "square-1", "finished", "n1", 1_004.5, run_s=2.5, cpu_s=2.0, read_bytes=3 << 32
    )
    history.record_transition(run, "square-2", "finished", "n1", 1_003.0)
    seen.append(history.record_transition("nope", "t", "placed", "n1", 1.0))
    seen.append([(p.heuristic, p.task_count, p.makespan_s) for p in history.list_plans()])
    seen.append(
        [(s.name, s.node_id, s.duration_s, s.cpu_s, s.read_bytes) for s in history.finished_runs()]
    )
    record = history.get(run)
    assert record is not None
    seen.append([(t.task_id, t.state, t.at_s) for t in record.transitions])
    return seen


def _log_script(db: Database) -> list[Any]:
    store = TaskLogStore(db, TaskLogSettings(attempts_kept=2))
    for attempt in range(4):
        ok = attempt % 2 == 0
        store.add("run", AttemptLog("t", attempt, "n1", ok, stdout=f"100% done? {attempt}"))
    store.add("run", AttemptLog("u", 0, "n2", False, error="boom", peak_memory_bytes=9 << 31))
    return [store.get("run"), store.get("run", "u")]


def _pending_script(db: Database) -> list[Any]:
    ledger = PendingLedger(db, ttl_s=60)
    ledger.add("n1", Reservation(2, 1e9, 1), now_s=100.0)
    ledger.add("n1", Reservation(0.5, 2e9), now_s=130.0)
    ledger.add("n2", Reservation(1), now_s=130.0)
    seen: list[Any] = [ledger.totals(now_s=150.0), ledger.count(now_s=150.0)]
    seen.append(ledger.totals(now_s=170.0))  # the first one has expired
    chosen = ledger.reserve(lambda totals: ("n3", Reservation(totals["n1"].cpu_cores)), now_s=170)
    seen.append((chosen, ledger.totals(now_s=171.0)))
    seen.append(ledger.reserve(lambda _: None, now_s=171.0))
    seen.append(ledger.totals(now_s=500.0))
    return seen


def _migration_script(db: Database) -> list[Any]:
    # A catalogue written before datasets recorded their storage kind gains the column.
    db.ensure_schema(
        "CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL,"
        " nodes TEXT NOT NULL, sites TEXT NOT NULL, residency INTEGER NOT NULL,"
        " updated_at_s REAL NOT NULL)"
    )
    with db.transaction() as conn:
        conn.execute("INSERT INTO datasets VALUES ('old', 3, '[]', '[]', 0, 1.5)", ())
    record = DatasetCatalogue(db).get("old")
    assert record is not None
    return [record]


_SCRIPTS = {
    "migration": _migration_script,
    "datasets": _dataset_script,
    "alerts": _alert_script,
    "history": _history_script,
    "logs": _log_script,
    "pending": _pending_script,
}
_ANSWERS: dict[str, dict[str, list[Any]]] = {}


@pytest.mark.parametrize("script", sorted(_SCRIPTS))
def test_catalogues_answer_alike_on_both_databases(
    script: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    answers = {}
    for kind in ("sqlite", "postgresql"):
        target = (
            str(tmp_path / "continuum.db")
            if kind == "sqlite"
            else request.getfixturevalue("postgres_url")
        )
        database = Database(target)
        try:
            answers[kind] = _SCRIPTS[script](database)
        finally:
            database.close()
    assert answers["postgresql"] == answers["sqlite"]
    assert any(answers["sqlite"])  # the script saw data


def test_reservations_from_two_connections_never_overbook(db: Database) -> None:
    """Each reservation is chosen against the totals the others left: with a write lock held
    for the whole step, eight concurrent takers of one core on a four-core node get four."""
    second = Database(db.path)
    ledgers = [PendingLedger(db, ttl_s=60), PendingLedger(second, ttl_s=60)]
    granted: list[str] = []

    def take(ledger: PendingLedger) -> None:
        def one_free_core(totals: dict[str, Reservation]) -> tuple[str, Reservation] | None:
            used = totals.get("n1", Reservation()).cpu_cores
            return ("n1", Reservation(1)) if used + 1 <= 4 else None

        if ledger.reserve(one_free_core, now_s=100.0) is not None:
            granted.append("n1")

    threads = [threading.Thread(target=take, args=(ledgers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second.close()
    assert len(granted) == 4
    assert ledgers[0].totals(now_s=101.0) == {"n1": Reservation(4.0, 0.0, 0)}


def test_a_postgresql_url_is_kept_as_a_url(postgres_url: str) -> None:
    from scheduler_api import load_settings

    settings = load_settings(database=postgres_url)
    assert settings.database == postgres_url
    database = Database(settings.database)
    assert database.dialect == "postgresql"
    database.close()


def test_a_restarted_server_is_reconnected_to(tmp_path: Path) -> None:
    """A read after the server restarted is answered (repeated once on a new connection); a
    write that meets the dropped connection fails, and the next one succeeds."""
    import psycopg

    from continuum.services import free_port
    from tests.integration.storage.postgres import PostgresServer

    server = PostgresServer("127.0.0.1", free_port())
    server.start()
    try:
        database = Database(server.create_database("restarted"))
        catalogue = DatasetCatalogue(database)
        catalogue.put(DatasetRecord("before", 1))
        server.stop()
        server.start()
        assert catalogue.get("before") is not None
        server.stop()
        server.start()
        with pytest.raises(psycopg.OperationalError):
            catalogue.put(DatasetRecord("lost", 1))
        catalogue.put(DatasetRecord("after", 2))
        assert [r.id for r in catalogue.list()] == ["after", "before"]
        database.close()
    finally:
        server.remove()
