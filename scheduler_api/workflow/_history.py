"""Placement history: plans, and every state a placed task goes through, in SQLite.

Uses the API's database (the same file as the dataset catalogue), with its own tables::

    history = PlacementHistory(db)
    plan_id = history.record_plan("heft", plan, at_s=time.time())
    history.record_transition(plan_id, "square-1", "started", "edge-1", at_s=time.time())
    history.get(plan_id).tasks["square-1"].state   # "started"
    history.finished_runs()   # [RunSample(name="square", node_id="edge-1", duration_s=...)]

A transition may carry what the attempt measured (``run_s``, ``cpu_s``, ``read_bytes``,
``written_bytes``) and its task's name; ``finished_runs`` turns finished ones into the samples
``TaskCosts`` learns from.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from scheduler_api._store import Database
from scheduler_api.placement import Plan
from scheduler_api.workflow._costs import RunSample

__all__ = ["PlacementHistory", "PlanRecord", "TaskHistory", "Transition", "TransitionState"]

TransitionState = Literal["placed", "replaced", "started", "finished", "failed", "abandoned"]

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS placement_plans (
        id TEXT PRIMARY KEY,
        created_at_s REAL NOT NULL,
        heuristic TEXT NOT NULL,
        makespan_s REAL NOT NULL,
        task_count INTEGER NOT NULL,
        unplaced TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS placement_transitions (
        plan_id TEXT NOT NULL REFERENCES placement_plans(id),
        seq INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        state TEXT NOT NULL,
        node_id TEXT NOT NULL,
        at_s REAL NOT NULL,
        est_start_s REAL,
        est_finish_s REAL,
        detail TEXT NOT NULL,
        PRIMARY KEY (plan_id, seq)
    )
    """,
    "CREATE INDEX IF NOT EXISTS placement_plans_created ON placement_plans (created_at_s)",
    # finished_runs reads the latest finished attempts without scanning every transition.
    "CREATE INDEX IF NOT EXISTS placement_transitions_state ON placement_transitions (state, at_s)",
)
# What attempts measured, added to histories written before they were recorded.
_MEASURED_COLUMNS = {
    "name": "TEXT NOT NULL DEFAULT ''",
    "run_s": "REAL",
    "cpu_s": "REAL",
    "read_bytes": "INTEGER",
    "written_bytes": "INTEGER",
}
_INSERT_TRANSITION = """
    INSERT INTO placement_transitions (
        plan_id, seq, task_id, state, node_id, at_s, est_start_s, est_finish_s, detail,
        name, run_s, cpu_s, read_bytes, written_bytes
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# A session's call ids are "<task name>-<call number>".
_CALL_ID = re.compile(r"^(?P<name>.+)-\d+$")
# Finished attempts, newest first, each with the start of the attempt it ends. The unary plus
# keeps SQLite from answering the inner lookup through the (state, at_s) index, which would scan
# every start of every plan per row (seconds on 150k transitions, against 0.14 s through the key).
_FINISHED_RUNS = """
    SELECT f.task_id, f.name, f.node_id, f.at_s, f.run_s, f.cpu_s, f.read_bytes,
           f.written_bytes,
           (SELECT MAX(s.at_s) FROM placement_transitions s
             WHERE s.plan_id = f.plan_id AND s.task_id = f.task_id
               AND +s.state = 'started' AND s.seq < f.seq) AS started_at_s
      FROM placement_transitions f
     WHERE f.state = 'finished'
     ORDER BY f.at_s DESC
     LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class Transition:
    """One state a task entered.

    Attributes:
        task_id: The task.
        state: ``placed``, ``replaced``, ``started``, ``finished``, ``failed`` or ``abandoned``.
        node_id: Where (empty for ``abandoned``).
        at_s: Unix time.
        est_start_s: Planned start (``placed``, ``replaced``).
        est_finish_s: Planned finish.
        detail: Why (a failure's error, a replacement's reason, a placement's cost source).
        name: The task's name (its function's), which learned costs are keyed by.
        run_s: Wall seconds the attempt ran, as its worker measured (``finished``, ``failed``).
        cpu_s: CPU seconds it used, when the executor measured them.
        read_bytes: Bytes it read, when measured.
        written_bytes: Bytes it wrote, when measured.
    """

    task_id: str
    state: str
    node_id: str
    at_s: float
    est_start_s: float | None = None
    est_finish_s: float | None = None
    detail: str = ""
    name: str = ""
    run_s: float | None = None
    cpu_s: float | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None


@dataclass(slots=True)
class TaskHistory:
    """A task's latest state and where it is (or was) placed."""

    task_id: str
    state: str
    node_id: str
    est_start_s: float | None
    est_finish_s: float | None


@dataclass(slots=True)
class PlanRecord:
    """A stored plan."""

    plan_id: str
    created_at_s: float
    heuristic: str
    makespan_s: float
    task_count: int
    unplaced: dict[str, str]
    tasks: dict[str, TaskHistory] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)


class PlacementHistory:
    """Plans and transitions persisted in the API's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(*_SCHEMA)
        db.ensure_columns("placement_transitions", _MEASURED_COLUMNS)

    def record_plan(
        self,
        heuristic: str,
        plan: Plan,
        at_s: float,
        unplaced: dict[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        details: Mapping[str, str] | None = None,
    ) -> str:
        """Store a plan with one ``placed`` transition per task; return its new id.

        ``names`` gives tasks' names (what learned costs are keyed by), ``details`` the
        explanation each placement is stored with (e.g. its cost's source).
        """
        names, details = names or {}, details or {}
        plan_id = uuid.uuid4().hex
        reasons = unplaced if unplaced is not None else dict.fromkeys(plan.unplaced, "")
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO placement_plans VALUES (?, ?, ?, ?, ?, ?)",
                (
                    plan_id,
                    at_s,
                    heuristic,
                    plan.makespan_s,
                    len(plan.assignments) + len(reasons),
                    json.dumps(reasons),
                ),
            )
            conn.executemany(
                _INSERT_TRANSITION,
                [
                    (
                        *(plan_id, seq, p.task_id, "placed", p.node_id, at_s),
                        *(p.est_start_s, p.est_finish_s, details.get(p.task_id, "")),
                        *(names.get(p.task_id, ""), None, None, None, None),
                    )
                    for seq, p in enumerate(plan.assignments.values())
                ],
            )
        return plan_id

    def open_run(self, heuristic: str, at_s: float) -> str:
        """Start an empty record for a run placed elsewhere (``continuum run``'s own engine);
        its tasks join it with ``placed`` transitions. Returns its id.
        """
        plan_id = uuid.uuid4().hex
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO placement_plans VALUES (?, ?, ?, 0.0, 0, '{}')",
                (plan_id, at_s, heuristic),
            )
        return plan_id

    def record_transition(
        self,
        plan_id: str,
        task_id: str,
        state: TransitionState,
        node_id: str,
        at_s: float,
        detail: str = "",
        est_start_s: float | None = None,
        est_finish_s: float | None = None,
        *,
        name: str = "",
        run_s: float | None = None,
        cpu_s: float | None = None,
        read_bytes: int | None = None,
        written_bytes: int | None = None,
    ) -> bool:
        """Append a transition; False when the plan is unknown, or the task is not in it and
        the transition is not a ``placed`` one (which adds the task).

        The keyword-only fields are what the attempt measured (see ``Transition``).
        """
        with self._db.transaction() as conn:
            plan = conn.execute(
                "SELECT created_at_s FROM placement_plans WHERE id = ?", (plan_id,)
            ).fetchone()
            if plan is None:
                return False
            known = conn.execute(
                "SELECT 1 FROM placement_transitions WHERE plan_id = ? AND task_id = ? LIMIT 1",
                (plan_id, task_id),
            ).fetchone()
            if known is None:
                if state != "placed":
                    return False
                conn.execute(
                    "UPDATE placement_plans SET task_count = task_count + 1 WHERE id = ?",
                    (plan_id,),
                )
            if state == "finished":
                # Makespan so far: the latest finish since the plan was made.
                conn.execute(
                    "UPDATE placement_plans SET makespan_s = MAX(makespan_s, ?) WHERE id = ?",
                    (at_s - plan[0], plan_id),
                )
            (seq,) = conn.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM placement_transitions WHERE plan_id = ?",
                (plan_id,),
            ).fetchone()
            conn.execute(
                _INSERT_TRANSITION,
                (
                    *(plan_id, seq, task_id, state, node_id, at_s, est_start_s, est_finish_s),
                    *(detail, name, run_s, cpu_s, read_bytes, written_bytes),
                ),
            )
        return True

    def record(self, plan_id: str, transition: Transition) -> bool:
        """``record_transition`` for a session's ``Transition`` (a ``Session`` recorder)."""
        return self.record_transition(
            plan_id,
            transition.task_id,
            _state(transition.state),
            transition.node_id,
            transition.at_s,
            transition.detail,
            transition.est_start_s,
            transition.est_finish_s,
            name=transition.name,
            run_s=transition.run_s,
            cpu_s=transition.cpu_s,
            read_bytes=transition.read_bytes,
            written_bytes=transition.written_bytes,
        )

    def finished_runs(self, limit: int = 10_000) -> list[RunSample]:
        """The latest ``limit`` finished attempts of every plan, as cost samples.

        An attempt's duration is what its worker measured (``run_s``), else the time from
        its ``started`` transition; a task's name is the recorded one, else its call id
        without the call number (``square-3`` -> ``square``).
        """
        samples = []
        for row in self._db.query(_FINISHED_RUNS, (limit,)):
            duration_s = row["run_s"]
            if duration_s is None and row["started_at_s"] is not None:
                duration_s = row["at_s"] - row["started_at_s"]
            if duration_s is None or duration_s < 0:
                continue  # finished without a start on record: nothing to learn
            samples.append(
                RunSample(
                    name=row["name"] or _name_of(row["task_id"]),
                    node_id=row["node_id"],
                    duration_s=duration_s,
                    finished_at_s=row["at_s"],
                    cpu_s=row["cpu_s"],
                    read_bytes=row["read_bytes"],
                    written_bytes=row["written_bytes"],
                )
            )
        return samples

    def list_plans(self, limit: int = 50, offset: int = 0) -> list[PlanRecord]:
        """Plans, newest first, without their tasks."""
        rows = self._db.query(
            "SELECT * FROM placement_plans ORDER BY created_at_s DESC, id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_plan(row) for row in rows]

    def get(self, plan_id: str) -> PlanRecord | None:
        """A plan with every task's latest state and all transitions, or None."""
        rows = self._db.query("SELECT * FROM placement_plans WHERE id = ?", (plan_id,))
        if not rows:
            return None
        record = _plan(rows[0])
        for row in self._db.query(
            "SELECT * FROM placement_transitions WHERE plan_id = ? ORDER BY seq", (plan_id,)
        ):
            transition = Transition(
                row["task_id"],
                row["state"],
                row["node_id"],
                row["at_s"],
                row["est_start_s"],
                row["est_finish_s"],
                row["detail"],
                row["name"],
                row["run_s"],
                row["cpu_s"],
                row["read_bytes"],
                row["written_bytes"],
            )
            record.transitions.append(transition)
            previous = record.tasks.get(transition.task_id)
            record.tasks[transition.task_id] = TaskHistory(
                transition.task_id,
                transition.state,
                transition.node_id,
                transition.est_start_s
                if previous is None
                else _first(transition.est_start_s, previous.est_start_s),
                transition.est_finish_s
                if previous is None
                else _first(transition.est_finish_s, previous.est_finish_s),
            )
        return record


def _state(state: str) -> TransitionState:
    if state not in get_args(TransitionState):
        raise ValueError(f"unknown transition state {state!r}")
    return cast(TransitionState, state)


def _name_of(task_id: str) -> str:
    match = _CALL_ID.match(task_id)
    return match.group("name") if match else task_id


def _first(value: float | None, fallback: float | None) -> float | None:
    return fallback if value is None else value


def _plan(row: Any) -> PlanRecord:
    return PlanRecord(
        plan_id=row["id"],
        created_at_s=row["created_at_s"],
        heuristic=row["heuristic"],
        makespan_s=row["makespan_s"],
        task_count=row["task_count"],
        unplaced=json.loads(row["unplaced"]),
    )
